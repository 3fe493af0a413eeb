using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Engines.VhostUser;

/// <summary>
/// A guest error on demand, for restart-device under a front end with requests in flight. A real guest (Linux under
/// QEMU) never breaks the ring rules, so the fault is injected where a guest's would surface: inside a queue handler,
/// as the <see cref="GuestRequestException"/> the block handler throws for a request it cannot answer. The device is
/// wrapped through <c>GuestEnvironment.CreateDevice</c>, the factory every launcher is built with, so no production
/// code knows about it. When armed, the next drain completes up to <c>completeFirst</c> requests as usual, takes one
/// more from the ring (so it is in flight on the queue thread) and fails holding it: exactly the moment whose outcome must
/// be "answered before the connection drops, or left in flight for the next connection".
/// </summary>
internal sealed class InflightFaultInjector
{
    private int _armed;
    private int _completeFirst;
    private int _injected;
    private int _handlers;
    private int _drainedBy;
    private int _resubmittingStarts;
    private int _completedBeforeFaults;

    /// <summary>How many faults have fired.</summary>
    public int Injected => Volatile.Read(ref _injected);

    /// <summary>How many queue handlers the device has made: one per ring start, so one more per reconnection.</summary>
    public int Handlers => Volatile.Read(ref _handlers);

    /// <summary>The newest handler (by <see cref="Handlers"/>' count) that has drained its ring at least once.</summary>
    public int DrainedBy => Volatile.Read(ref _drainedBy);

    /// <summary>Ring starts that found requests a previous connection took and never answered (the inflight region).</summary>
    public int ResubmittingStarts => Volatile.Read(ref _resubmittingStarts);

    /// <summary>Requests completed in the same drain as a fault, just before it: published, and signalled only by the fault path.</summary>
    public int CompletedBeforeFaults => Volatile.Read(ref _completedBeforeFaults);

    public bool Armed => Volatile.Read(ref _armed) != 0;

    /// <summary>The next drain with requests waiting completes up to <paramref name="completeFirst"/> of them, then fails holding the next.</summary>
    public void Arm(int completeFirst)
    {
        Volatile.Write(ref _completeFirst, completeFirst);
        Volatile.Write(ref _armed, 1);
    }

    public void Disarm() => Volatile.Write(ref _armed, 0);

    public VirtioDevice Wrap(VirtioDevice device) => new FaultingDevice(device, this);

    private sealed class FaultingDevice : VirtioDevice
    {
        private readonly VirtioDevice _inner;
        private readonly IReadOnlyList<QueueDefinition> _queues;

        public FaultingDevice(VirtioDevice inner, InflightFaultInjector injector)
        {
            _inner = inner;
            _queues = [.. inner.Queues.Select(q => q with
            {
                CreateHandler = q.CreateHandler is { } create
                    ? () => new FaultingHandler(create(), injector, Interlocked.Increment(ref injector._handlers))
                    : null,
            })];
        }

        public override byte DeviceType => _inner.DeviceType;

        public override string Name => _inner.Name;

        public override ulong OfferedFeatures => _inner.OfferedFeatures;

        public override IReadOnlyList<QueueDefinition> Queues => _queues;

        public override ReadOnlyMemory<byte> Config => _inner.Config;

        public override void Activate(GuestMemory memory, ulong features) => _inner.Activate(memory, features);

        public override void Reset() => _inner.Reset();

        public override string Describe() => _inner.Describe();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    private sealed class FaultingHandler(IQueueHandler inner, InflightFaultInjector injector, int generation) : IQueueHandler
    {
        private bool _drained;

        public FileDescriptor? Source => inner.Source;

        public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
        {
            if (!_drained)
            {
                _drained = true;
                if (queue.ResubmitPending > 0)
                {
                    Interlocked.Increment(ref injector._resubmittingStarts);
                }
                Volatile.Write(ref injector._drainedBy, generation);
            }
            if (!injector.Armed)
            {
                return inner.Drain(queue, chain, budget);
            }
            // Complete up to completeFirst of what is waiting, leaving one, then fail holding that one. A guest's
            // requests rarely wait more than one or two at a time, so the count is read from the ring (avail.idx).
            int waiting = queue.ResubmitPending + (ushort)(queue.Memory.Read<ushort>(queue.Layout.AvailableRing + 2) - queue.NextAvailableIndex);
            if (waiting == 0)
            {
                return inner.Drain(queue, chain, budget);       // nothing to hold yet: stay armed
            }
            int first = Math.Min(Math.Min(Volatile.Read(ref injector._completeFirst), waiting - 1), budget - 1);
            ushort usedBefore = queue.UsedIndex;
            if (first > 0 && inner.Drain(queue, chain, first) != DrainResult.BudgetSpent)
            {
                return DrainResult.RingEmpty;                   // the guest took some back (cannot happen with a sane one)
            }
            if (Interlocked.Exchange(ref injector._armed, 0) == 0)
            {
                return DrainResult.BudgetSpent;
            }
            if (!queue.TryPop(chain))
            {
                Volatile.Write(ref injector._armed, 1);
                return DrainResult.RingEmpty;
            }
            Interlocked.Increment(ref injector._injected);
            Interlocked.Add(ref injector._completedBeforeFaults, (ushort)(queue.UsedIndex - usedBefore));
            throw new GuestRequestException($"block: request {chain.HeadIndex}: a guest error injected by the test, with the request in flight");
        }

        public void Dispose() => inner.Dispose();
    }
}
