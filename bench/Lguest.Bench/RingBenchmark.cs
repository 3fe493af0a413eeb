using System.Diagnostics;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Bench;

/// <summary>
/// The device side of a split ring in isolation: TryPop, AddUsed and NeedsNotification for every chain, as a queue
/// handler does per request. The driver side refills the ring between timed batches, outside the clock, so the
/// numbers are the device's cost alone.
///
/// A plain Stopwatch loop with a warm-up rather than BenchmarkDotNet: BDN's pilot, warm-up and target stages take
/// tens of seconds per case even in-process, too long for twelve cases on a shared two-core machine. Allocation is
/// GC.GetAllocatedBytesForCurrentThread around the timed part only, which is exact for this thread.
/// </summary>
internal sealed class RingBenchmark
{
    private const ushort QueueSize = 256;
    private const ulong RingAddress = 0x10000;
    private const ulong TableArea = 0x100000;
    private const ulong DataArea = 0x400000;
    private const ulong MemoryBytes = 16UL << 20;

    public static IEnumerable<ResultRow> Run(BenchOptions options)
    {
        foreach (bool eventIndex in (bool[])[false, true])
        {
            foreach (bool indirect in (bool[])[false, true])
            {
                foreach (int length in (int[])[1, 3, 17])
                {
                    (double ns, double bytes) = Measure(length, indirect, eventIndex, options.MeasureFor / 4);
                    string kind = indirect ? "indirect" : "direct";
                    string notify = eventIndex ? "EVENT_IDX" : "flags";
                    yield return new ResultRow("ring", $"pop+complete {length} desc, {kind}, {notify}", "ours")
                    {
                        NsPerOp = ns,
                        BytesPerOp = bytes,
                    };
                }
            }
        }
    }

    private static (double NsPerChain, double BytesPerChain) Measure(int length, bool indirect, bool eventIndex, TimeSpan duration)
    {
        using GuestMemory memory = GuestMemory.CreateFlat(MemoryBytes);
        VirtqueueFeatures features = (indirect ? VirtqueueFeatures.IndirectDescriptors : 0) | (eventIndex ? VirtqueueFeatures.EventIndex : 0);
        var layout = SplitQueueLayout.Legacy(RingAddress, QueueSize);
        // The guest side is the TestKit's driver, laid out by its own reading of the spec (2.7.2), outside the clock.
        ulong negotiated = (indirect ? 1UL << SplitRingSpec.FeatureIndirectDescriptors : 0) | (eventIndex ? 1UL << SplitRingSpec.FeatureEventIndex : 0);
        var driver = new SplitRingDriver(memory, SplitRingSpec.LegacyLayout(RingAddress, QueueSize), negotiated);
        var device = new SplitQueue(memory, layout, features);
        var chain = new DescriptorChain();
        // A block request's shape: readable header, data, writable status; 17 descriptors is header, 15 data
        // segments and the status byte.
        var buffers = new DriverBuffer[length];
        for (int i = 0; i < length; i++)
        {
            buffers[i] = new DriverBuffer(DataArea + (ulong)i * 0x1000, i == 0 ? 16u : 512u, DeviceWritable: i == length - 1 && length > 1);
        }
        int perBatch = indirect ? QueueSize : QueueSize / length;

        // Warm-up: enough batches for tiering to reach the optimised code, untimed.
        RunFor(TimeSpan.FromMilliseconds(duration.TotalMilliseconds / 2), driver, device, chain, buffers, indirect, perBatch, out _, out _, out _);
        RunFor(duration, driver, device, chain, buffers, indirect, perBatch, out long ticks, out long allocated, out long chains);
        return (ticks * 1e9 / Stopwatch.Frequency / chains, (double)allocated / chains);
    }

    private static void RunFor(
        TimeSpan duration, SplitRingDriver driver, SplitQueue device, DescriptorChain chain, DriverBuffer[] buffers, bool indirect, int perBatch,
        out long ticks, out long allocated, out long chains)
    {
        ticks = 0;
        allocated = 0;
        chains = 0;
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            for (int i = 0; i < perBatch; i++)
            {
                _ = indirect ? driver.AddIndirectBuffer(buffers, TableArea + (ulong)i * 0x400) : driver.AddBuffer(buffers);
            }

            long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            while (device.TryPop(chain))
            {
                device.AddUsed(chain.HeadIndex, (uint)chain.WritableBytes);
                _ = device.NeedsNotification();
            }
            ticks += Stopwatch.GetTimestamp() - start;
            allocated += GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
            chains += perBatch;

            while (driver.TryGetUsed(out _, out _))
            {
            }
        }
    }
}
