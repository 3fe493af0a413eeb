using Lguest.Native.Lguest;

namespace Lguest.Native.Tests.Lguest;

public sealed class LguestRequestTests
{
    [Fact]
    public void Initialize_is_the_request_then_base_page_limit_and_entry()
    {
        nuint[] words = LguestRequest.Initialize(0x7f00_0000, 0x1_0010, 0x100_0000);

        Assert.Equal([0, 0x7f00_0000, 0x1_0010, 0x100_0000], words);
        Assert.Equal(4 * IntPtr.Size, words.Length * nuint.Size);
    }

    [Fact]
    public void Interrupt_carries_the_line_and_refuses_lines_above_31()
    {
        Assert.Equal([2, 0], LguestRequest.Interrupt(0));
        Assert.Equal([2, 31], LguestRequest.Interrupt(31));
        Assert.Throws<ArgumentOutOfRangeException>(() => LguestRequest.Interrupt(32));
        Assert.Throws<ArgumentOutOfRangeException>(() => LguestRequest.Interrupt(uint.MaxValue));
    }

    [Fact]
    public void AttachEventFd_carries_address_and_descriptor_and_refuses_address_0()
    {
        Assert.Equal([4, 0x10_1000, 9], LguestRequest.AttachEventFd(0x10_1000, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => LguestRequest.AttachEventFd(0, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => LguestRequest.AttachEventFd(0x1000, -1));
    }

    [Fact]
    public void Request_numbers_match_the_header()
    {
        Assert.Equal(0, LguestAbi.LHREQ_INITIALIZE);
        Assert.Equal(1, LguestAbi.LHREQ_GETDMA);
        Assert.Equal(2, LguestAbi.LHREQ_IRQ);
        Assert.Equal(3, LguestAbi.LHREQ_BREAK);
        Assert.Equal(4, LguestAbi.LHREQ_EVENTFD);
        Assert.Equal(31, LguestAbi.MaxVirtqueues);
        Assert.Equal(5, LguestAbi.DeviceDescriptorSize);
        Assert.Equal(8, LguestAbi.VirtqueueConfigSize);
    }
}
