using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit.Tests.Virtqueue;

/// <summary>
/// The TestKit's ring layout against figures worked out by hand from the virtio spec (2.7.2's legacy layout), not
/// against the device side's code: the two sides agreeing is what the device specs check, this checks the driver alone.
/// </summary>
public sealed class SplitRingSpecTests
{
    [Theory]
    // size 256: table 4096, avail 4 + 512 + 2 = 518 -> 4614, aligned to 8192; used 4 + 2048 + 2 = 2054.
    [InlineData(256, 8192, 10246)]
    // size 16: table 256, avail 4 + 32 + 2 = 38 -> 294, aligned to 4096; used 4 + 128 + 2 = 134.
    [InlineData(16, 4096, 4230)]
    public void The_legacy_layout_puts_the_used_ring_on_the_next_page_boundary(ushort size, ulong usedOffset, ulong totalBytes)
    {
        SplitRingAddresses ring = SplitRingSpec.LegacyLayout(0x10000, size);

        Assert.Equal(0x10000UL + 16UL * size, ring.Avail);
        Assert.Equal(0x10000UL + usedOffset, ring.Used);
        Assert.Equal(totalBytes, SplitRingSpec.LegacyByteSize(size));
        Assert.Equal(ring.Avail + 4 + 2UL * size, ring.UsedEvent);
        Assert.Equal(ring.Used + 4 + 8UL * size, ring.AvailEvent);
    }

    [Theory]
    [InlineData(5, 6, 5, true)] // stepped onto event + 1: the other side asked for exactly this
    [InlineData(9, 6, 5, false)] // the event lies ahead
    [InlineData(65535, 1, 65534, true)] // across the 16-bit wrap
    public void Need_event_is_the_specs_wrapping_comparison(ushort eventIndex, ushort newIndex, ushort oldIndex, bool expected)
    {
        Assert.Equal(expected, SplitRingSpec.NeedEvent(eventIndex, newIndex, oldIndex));
    }
}
