using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Queues;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices;

/// <summary>
/// One legacy split ring in flat guest memory, seen from both sides: the guest's <see cref="SplitRingDriver"/> (the
/// TestKit's, written from the spec) offers buffers, the device's <see cref="SplitQueue"/> is what a handler drains. Guest buffers come from a bump allocator
/// above the ring.
/// </summary>
internal sealed class QueueHarness : IDisposable
{
    private const ulong MemorySize = 8 << 20;
    private ulong _next;

    public QueueHarness(ushort size = 256)
    {
        Memory = GuestMemory.CreateFlat(MemorySize);
        Driver = new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(0, size), negotiatedFeatures: 0);
        Device = new SplitQueue(Memory, SplitQueueLayout.Legacy(0, size), VirtqueueFeatures.None);
        _next = SplitRingSpec.LegacyByteSize(size);
    }

    public GuestMemory Memory { get; }

    public SplitRingDriver Driver { get; }

    public SplitQueue Device { get; }

    public DescriptorChain Chain { get; } = new();

    /// <summary>A guest buffer the device may read, holding <paramref name="data"/>.</summary>
    public DriverBuffer Readable(ReadOnlySpan<byte> data)
    {
        ulong address = Allocate((ulong)data.Length);
        Memory.Write(address, data);
        return new DriverBuffer(address, (uint)data.Length, DeviceWritable: false);
    }

    /// <summary>A zeroed guest buffer of <paramref name="length"/> bytes the device may write.</summary>
    public DriverBuffer Writable(uint length) => new(Allocate(length), length, DeviceWritable: true);

    public ushort Offer(params DriverBuffer[] buffers) => Driver.AddBuffer(buffers);

    public DrainResult Drain(IQueueHandler handler, int budget = 64) => QueueDrainer.Drain(handler, Device, Chain, budget);

    /// <summary>The next used element, which must be there.</summary>
    public (ushort Head, uint Length) Used()
    {
        Assert.True(Driver.TryGetUsed(out ushort head, out uint length), "expected a used buffer");
        return (head, length);
    }

    public bool TryUsed(out ushort head, out uint length) => Driver.TryGetUsed(out head, out length);

    public byte[] Contents(DriverBuffer buffer)
    {
        var bytes = new byte[buffer.Length];
        Memory.Read(buffer.Address, bytes);
        return bytes;
    }

    public void Dispose() => Memory.Dispose();

    private ulong Allocate(ulong length)
    {
        ulong address = _next;
        _next = (_next + Math.Max(length, 1) + 15) & ~15UL;
        Assert.True(_next <= MemorySize, "harness out of guest memory");
        return address;
    }
}
