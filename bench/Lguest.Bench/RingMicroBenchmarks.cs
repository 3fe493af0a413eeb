using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Bench;

/// <summary>
/// The ring engine under BenchmarkDotNet (`--bdn`): the same device-side work as <see cref="RingBenchmark"/>
/// (TryPop, AddUsed, NeedsNotification per chain), with BDN's statistics and its MemoryDiagnoser counting
/// allocations. The driver publishes one batch in GlobalSetup; each invocation rewinds the device's available index
/// and serves the same published chains again (the entries stay valid, so this is real ring work), which keeps the
/// driver out of the measurement without a per-iteration setup: with one, BDN calls the method once per iteration
/// and the code under test never leaves tier-0 JIT. In-process and a short job: seconds on two cores.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ShortInProcess))]
public class RingMicroBenchmarks
{
    private const ushort QueueSize = 256;
    private const ulong RingAddress = 0x10000;
    private const ulong TableArea = 0x100000;
    private const ulong DataArea = 0x400000;
    /// <summary>What fits the 256-entry ring as direct 17-descriptor chains (15 × 17 = 255).</summary>
    private const int ChainsPerInvoke = 15;

    private GuestMemory _memory = null!;
    private SplitRingDriver _driver = null!;
    private SplitQueue _device = null!;
    private readonly DescriptorChain _chain = new();
    private DriverBuffer[] _buffers = [];
    private ushort _firstAvailable;

    [Params(1, 3, 17)]
    public int Descriptors { get; set; }

    [Params(false, true)]
    public bool Indirect { get; set; }

    [Params(false, true)]
    public bool EventIndex { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _memory = GuestMemory.CreateFlat(16UL << 20);
        VirtqueueFeatures features = (Indirect ? VirtqueueFeatures.IndirectDescriptors : 0) | (EventIndex ? VirtqueueFeatures.EventIndex : 0);
        var layout = SplitQueueLayout.Legacy(RingAddress, QueueSize);
        ulong negotiated = (Indirect ? 1UL << SplitRingSpec.FeatureIndirectDescriptors : 0) | (EventIndex ? 1UL << SplitRingSpec.FeatureEventIndex : 0);
        _driver = new SplitRingDriver(_memory, SplitRingSpec.LegacyLayout(RingAddress, QueueSize), negotiated);
        _device = new SplitQueue(_memory, layout, features);
        // A block request's shape: readable header, data segments, writable status byte.
        _buffers = new DriverBuffer[Descriptors];
        for (int i = 0; i < Descriptors; i++)
        {
            _buffers[i] = new DriverBuffer(DataArea + (ulong)i * 0x1000, i == 0 ? 16u : 512u, DeviceWritable: i == Descriptors - 1 && Descriptors > 1);
        }
        _firstAvailable = _device.NextAvailableIndex;
        for (int i = 0; i < ChainsPerInvoke; i++)
        {
            _ = Indirect ? _driver.AddIndirectBuffer(_buffers, TableArea + (ulong)i * 0x400) : _driver.AddBuffer(_buffers);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _memory.Dispose();

    [Benchmark(OperationsPerInvoke = ChainsPerInvoke)]
    public int PopAndComplete()
    {
        _device.NextAvailableIndex = _firstAvailable;
        int served = 0;
        while (_device.TryPop(_chain))
        {
            _device.AddUsed(_chain.HeadIndex, (uint)_chain.WritableBytes);
            _ = _device.NeedsNotification();
            served++;
        }
        return served;
    }

    private sealed class ShortInProcess : ManualConfig
    {
        public ShortInProcess() =>
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }
}
