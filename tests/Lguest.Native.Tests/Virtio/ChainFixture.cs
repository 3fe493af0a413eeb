using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>
/// A flat guest with one ring: the TestKit's spec-written driver offers buffers, the device's queue pops them, and
/// a test reads or writes the popped chain. Guest buffers live in the data area; indirect tables above it.
/// </summary>
internal sealed class ChainFixture : IDisposable
{
    public const ulong RingAddress = 0x10000;
    public const ulong DataArea = 0x100000;
    public const ulong TableArea = 0x200000;

    public ChainFixture(ulong memorySize = 0x400000)
    {
        Memory = GuestMemory.CreateFlat(memorySize);
        Driver = new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(RingAddress, 8), 1UL << SplitRingSpec.FeatureIndirectDescriptors);
        Device = new SplitQueue(Memory, SplitQueueLayout.Legacy(RingAddress, 8), VirtqueueFeatures.IndirectDescriptors);
    }

    public GuestMemory Memory { get; }

    public SplitRingDriver Driver { get; }

    public SplitQueue Device { get; }

    public DescriptorChain Chain { get; } = new();

    public static DriverBuffer In(ulong address, uint length) => new(address, length, DeviceWritable: false);

    public static DriverBuffer Out(ulong address, uint length) => new(address, length, DeviceWritable: true);

    /// <summary>Offers <paramref name="buffers"/> as a direct chain and pops it on the device side.</summary>
    public DescriptorChain Pop(params DriverBuffer[] buffers)
    {
        Driver.AddBuffer(buffers);
        Assert.True(Device.TryPop(Chain), "the offered chain was not available");
        return Chain;
    }

    /// <summary>Offers <paramref name="buffers"/> through one indirect table and pops it.</summary>
    public DescriptorChain PopIndirect(params DriverBuffer[] buffers)
    {
        Driver.AddIndirectBuffer(buffers, TableArea);
        Assert.True(Device.TryPop(Chain), "the offered chain was not available");
        return Chain;
    }

    public ChainReader Reader() => new(Chain, Memory);

    public ChainWriter Writer() => new(Chain, Memory);

    public byte[] Bytes(ulong address, int length)
    {
        var bytes = new byte[length];
        Memory.Read(address, bytes);
        return bytes;
    }

    public void Dispose() => Memory.Dispose();
}
