using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

public sealed class SplitQueueLayoutTests
{
    [Theory]
    // Linux vring_size(num, 4096): desc 16*num + avail 2*(3+num), rounded up, + used 6 + 8*num.
    [InlineData(1, 4096 + 14)]
    [InlineData(8, 4096 + 70)]
    [InlineData(256, 8192 + 2054)]
    [InlineData(1024, 20480 + 8198)]
    [InlineData(32768, 593920 + 262150)]
    public void LegacyByteSizeMatchesLinuxVringSize(ushort size, ulong expected)
        => Assert.Equal(expected, SplitQueueLayout.LegacyByteSize(size));

    [Fact]
    public void LegacyLayoutPutsUsedRingOnTheNextAlignBoundary()
    {
        SplitQueueLayout layout = SplitQueueLayout.Legacy(0x10000, 256);
        Assert.Equal(new SplitQueueLayout(256, 0x10000, 0x11000, 0x12000), layout);
        // avail ends at 0x11000 + 6 + 512 = 0x11206; with a 64-byte alignment the used ring follows at 0x11240.
        Assert.Equal(0x11240UL, SplitQueueLayout.Legacy(0x10000, 256, 64).UsedRing);
        Assert.Equal(layout.UsedRing + 6 + 8 * 256UL - 0x10000, SplitQueueLayout.LegacyByteSize(256));
    }

    [Fact]
    public void LegacyLayoutWrappingPast2To64IsRejected()
    {
        VirtqueueException e = Assert.Throws<VirtqueueException>(() => SplitQueueLayout.Legacy(ulong.MaxValue - 0xFFF, 8));
        Assert.Equal(VirtqueueViolation.RingOutsideMemory, e.Violation);
        Assert.Throws<ArgumentOutOfRangeException>(() => SplitQueueLayout.Legacy(0, 8, 3000));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(48)]
    [InlineData(32769)]
    [InlineData(65535)]
    public void InvalidQueueSizesAreRejected(int size)
    {
        using GuestMemory memory = GuestMemory.CreateFlat(0x100000);
        var layout = new SplitQueueLayout((ushort)size, 0x1000, 0x80000, 0xC0000);
        Assert.Equal(VirtqueueViolation.InvalidQueueSize, Assert.Throws<VirtqueueException>(() => new SplitQueue(memory, layout, VirtqueueFeatures.None)).Violation);
    }

    [Theory]
    [InlineData(0x1008UL, 0x2000UL, 0x3000UL)] // descriptors need 16
    [InlineData(0x1000UL, 0x2001UL, 0x3000UL)] // avail needs 2
    [InlineData(0x1000UL, 0x2000UL, 0x3002UL)] // used needs 4
    [InlineData(0xFFF90UL, 0x2000UL, 0x3000UL)] // descriptor table runs off the end
    [InlineData(0x1000UL, 0xFFFFEUL, 0x3000UL)] // avail runs off the end
    [InlineData(0x1000UL, 0x2000UL, 0xFFFF0UL)] // used runs off the end
    [InlineData(0x1000UL, 0x2000UL, 0x7FFFFFFFFFFFF000UL)]
    public void RingsOutsideMemoryOrMisalignedAreRejected(ulong desc, ulong avail, ulong used)
    {
        using GuestMemory memory = GuestMemory.CreateFlat(0x100000);
        var layout = new SplitQueueLayout(8, desc, avail, used);
        Assert.Equal(VirtqueueViolation.RingOutsideMemory, Assert.Throws<VirtqueueException>(() => new SplitQueue(memory, layout, VirtqueueFeatures.None)).Violation);
    }

    [Theory]
    [InlineData(0x100000UL - 128, 0x2000UL, 0x3000UL)] // descriptor table ends at the last byte
    [InlineData(0x1000UL, 0x100000UL - 22, 0x3000UL)] // avail ring (with used_event) ends at the last byte
    [InlineData(0x1000UL, 0x2000UL, 0x100000UL - 72)] // used ring (with avail_event) ends 2 bytes short
    public void RingsEndingAtTheEndOfMemoryAreAccepted(ulong desc, ulong avail, ulong used)
    {
        using GuestMemory memory = GuestMemory.CreateFlat(0x100000);
        var queue = new SplitQueue(memory, new SplitQueueLayout(8, desc, avail, used), VirtqueueFeatures.None);
        Assert.Equal(8, queue.Size);
        Assert.False(queue.TryPop(new DescriptorChain()));
    }

    [Fact]
    public void FeatureBitsMapToQueueFeatures()
    {
        Assert.Equal(VirtqueueFeatures.None, VirtqueueFeatureBits.FromNegotiated(1UL << 32));
        Assert.Equal(VirtqueueFeatures.IndirectDescriptors, VirtqueueFeatureBits.FromNegotiated(1UL << 28));
        Assert.Equal(VirtqueueFeatures.IndirectDescriptors | VirtqueueFeatures.EventIndex, VirtqueueFeatureBits.FromNegotiated((1UL << 28) | (1UL << 29) | 1));
    }
}
