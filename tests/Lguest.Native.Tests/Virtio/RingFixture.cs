using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>
/// A flat guest, one legacy ring in it, and both sides of the queue over that ring: the device's
/// <see cref="SplitQueue"/> under test, and the TestKit's <see cref="SplitRingDriver"/>, written from the spec, as the
/// guest, each laying the ring out by its own reading so a layout error cannot be mirrored.
/// </summary>
internal sealed class RingFixture : IDisposable
{
    public const ulong MemorySize = 0x100000;
    public const ulong RingAddress = 0x10000;
    public const ulong TableArea = 0x40000;
    public const ulong DataArea = 0x80000;

    public RingFixture(ushort size = 8, VirtqueueFeatures features = VirtqueueFeatures.IndirectDescriptors)
    {
        Memory = GuestMemory.CreateFlat(MemorySize);
        Layout = SplitQueueLayout.Legacy(RingAddress, size);
        Driver = new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(RingAddress, size), NegotiatedBits(features));
        Device = new SplitQueue(Memory, Layout, features);
    }

    public GuestMemory Memory { get; }

    public SplitQueueLayout Layout { get; }

    public SplitRingDriver Driver { get; }

    public SplitQueue Device { get; }

    public DescriptorChain Chain { get; } = new();

    /// <summary>Writes one 16-byte entry of an indirect table.</summary>
    public void WriteIndirectEntry(ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        ulong entry = table + (ulong)index * 16;
        Memory.Write(entry, address);
        Memory.Write(entry + 8, length);
        Memory.Write(entry + 12, flags);
        Memory.Write(entry + 14, next);
    }

    /// <summary>
    /// Pops, expecting <paramref name="expected"/>; then checks the queue stays poisoned, failing fast with the
    /// same violation instead of walking the ring again.
    /// </summary>
    public VirtqueueException AssertViolation(VirtqueueViolation expected)
    {
        VirtqueueException first = Assert.Throws<VirtqueueException>(() => Device.TryPop(Chain));
        Assert.Equal(expected, first.Violation);
        Assert.True(Device.IsPoisoned);
        Assert.Equal(expected, Device.Violation);
        VirtqueueException again = Assert.Throws<VirtqueueException>(() => Device.TryPop(Chain));
        Assert.Equal(expected, again.Violation);
        Assert.Throws<VirtqueueException>(() => Device.AddUsed(0, 0));
        return first;
    }

    public void Dispose() => Memory.Dispose();

    /// <summary>The driver's offer of the buffers a test expects the device's chain to hold.</summary>
    public static DriverBuffer[] Offer(ChainBuffer[] expected) =>
        Array.ConvertAll(expected, b => new DriverBuffer(b.Address, b.Length, b.Writable));

    /// <summary>The feature bits the driver accepted, by the spec's numbers (6), for what the device was told.</summary>
    public static ulong NegotiatedBits(VirtqueueFeatures features) =>
        ((features & VirtqueueFeatures.IndirectDescriptors) != 0 ? 1UL << SplitRingSpec.FeatureIndirectDescriptors : 0)
        | ((features & VirtqueueFeatures.EventIndex) != 0 ? 1UL << SplitRingSpec.FeatureEventIndex : 0);
}
