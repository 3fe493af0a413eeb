using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Transports.VhostUser;

/// <summary>
/// A guest error on demand, for restart-device under a front end with requests in flight. A real guest (Linux under
/// QEMU) never breaks the ring rules, so the fault is injected where a guest's would surface: inside a queue handler,
/// as the <see cref="GuestRequestException"/> the block handler throws for a request it cannot answer. The device is
/// wrapped through <c>GuestEnvironment.CreateDevice</c>, the factory every launcher is built with, so no production
/// code knows about it. When armed, the next <c>completeFirst</c> requests are served as usual; the one after is taken
/// from the ring (so it is in flight on the queue thread) and fails, held: exactly the moment whose outcome must be
/// "answered before the connection drops, or left in flight for the next connection".
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
    private int _heldHead = -1;

    /// <summary>How many faults have fired.</summary>
    public int Injected => Volatile.Read(ref _injected);

    /// <summary>How many queue handlers the device has made: one per ring start, so one more per reconnection.</summary>
    public int Handlers => Volatile.Read(ref _handlers);

    /// <summary>The newest handler (by <see cref="Handlers"/>' count) that has drained its ring at least once.</summary>
    public int DrainedBy => Volatile.Read(ref _drainedBy);

    /// <summary>Connections whose first request served was the one the previous connection's fault held (the inflight region at work).</summary>
    public int ResubmittingStarts => Volatile.Read(ref _resubmittingStarts);

    /// <summary>Requests completed while armed, before the fault: published, and signalled by the drain or the fault path.</summary>
    public int CompletedBeforeFaults => Volatile.Read(ref _completedBeforeFaults);

    public bool Armed => Volatile.Read(ref _armed) != 0;

    /// <summary>The next <paramref name="completeFirst"/> requests are served as usual; the one after fails, taken from the ring and held.</summary>
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
        private bool _served;
        private int _completedSinceArmed;

        public FileDescriptor? Source => inner.Source;

        public SourceState CheckSource() => inner.CheckSource();

        public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
        {
            if (!_served)
            {
                _served = true;
                // The inflight region at work: the first request a new connection serves is the one the faulting
                // connection held (QEMU resubmits inflight requests before anything new).
                if (readable.HeadIndex == Volatile.Read(ref injector._heldHead))
                {
                    Interlocked.Increment(ref injector._resubmittingStarts);
                }
                Volatile.Write(ref injector._drainedBy, generation);
            }
            if (!injector.Armed)
            {
                return inner.Handle(ref readable, ref writable);
            }
            if (_completedSinceArmed < Volatile.Read(ref injector._completeFirst))
            {
                _completedSinceArmed++;
                return inner.Handle(ref readable, ref writable);
            }
            if (Interlocked.Exchange(ref injector._armed, 0) == 0)
            {
                return inner.Handle(ref readable, ref writable);
            }
            Interlocked.Increment(ref injector._injected);
            Interlocked.Add(ref injector._completedBeforeFaults, _completedSinceArmed);
            _completedSinceArmed = 0;
            Volatile.Write(ref injector._heldHead, readable.HeadIndex);
            throw new GuestRequestException($"block: request {readable.HeadIndex}: a guest error injected by the test, with the request in flight");
        }

        public void Dispose() => inner.Dispose();
    }
}
