using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Dispatch;
using Lguest.Actors.Metrics;
using Lguest.Actors.Supervision;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>
/// Serves one virtqueue, on a dedicated thread of its own (an <see cref="EventFdDispatcher"/>), as each of the seed's
/// queues had its own thread. That thread sleeps in poll() on the kick eventfd and the handler's host source, and a
/// kick becomes a message to this actor on the same thread; this actor drains the ring in batches with the guest's
/// notifications suppressed, interrupts the guest only when the ring says it wants one, and yields to its mailbox
/// between batches so a stop or reset is never stuck behind a busy guest.
/// </summary>
internal sealed class VirtqueueActor : UntypedActor
{
    /// <summary>Chains per batch: big enough to amortise the interrupt, small enough to stay responsive.</summary>
    public const int BatchBudget = 64;

    private readonly string _device;
    private readonly QueueWiring _wiring;
    private readonly IQueueHandler _handler;
    private readonly DescriptorChain _chain = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly QueueCounters _counters;
    private SplitQueue? _queue;
    private EventLoop? _loop;
    private FdWatch? _kickWatch;
    private FdWatch? _sourceWatch;
    private FdWatch? _completionWatch;
    private ICompletingQueueHandler? _completing;
    private IdlePoller? _poller;

    private readonly TimeSpan _pollMax;

    /// <param name="pollMax">The longest the thread polls the ring before sleeping (adaptive polling); zero: never.</param>
    public VirtqueueActor(string device, QueueWiring wiring, IQueueHandler handler, TimeSpan pollMax = default)
    {
        _device = device;
        _wiring = wiring;
        _handler = handler;
        _pollMax = pollMax;
        _counters = new QueueCounters(device, wiring.Name);
    }

    public static Props Props(string device, QueueWiring wiring, IQueueHandler handler, TimeSpan pollMax = default)
        => Akka.Actor.Props.Create(() => new VirtqueueActor(device, wiring, handler, pollMax)).WithDispatcher(Dispatchers.Queue);

    protected override void PreStart()
    {
        try
        {
            _queue = new SplitQueue(_wiring.Memory, _wiring.Layout, _wiring.Features);
            if (_wiring.Position is { } position)
            {
                _queue.NextAvailableIndex = position.StartAvailable;
                if (position.ResumeUsed)
                {
                    _queue.UsedIndex = _wiring.Memory.Read<ushort>(_wiring.Layout.UsedRing + 2);
                }
            }
            if (_wiring.Inflight is { } inflight)
            {
                // After the position: the record knows better where a crashed predecessor stopped.
                _queue.AttachInflight(inflight);
                if (_queue.ResubmitPending > 0)
                {
                    _log.Info("{Device}/{Queue}: serving {Count} request(s) a previous back end took and never answered", _device, _wiring.Name, _queue.ResubmitPending);
                }
            }
            if (_wiring.Position is { ResumeUsed: true } && _queue.UsedIndex != 0)
            {
                // A ring taken over mid-life may hold completions its previous back end published and never signalled
                // (killed between used.idx and the call), and with EVENT_IDX nothing we complete later would signal
                // them either: one interrupt now makes the driver look, as vhost's signalled_used_valid = false does.
                _wiring.Interrupt.Raise();
            }
        }
        catch (Exception e)
        {
            throw new DeviceFaultException(_device, _wiring.Name, e);
        }
        _loop = EventFdDispatcher.LoopOf(Context);
        _kickWatch = _loop.WatchEventFd(_wiring.Kick, QueueProtocol.Kicked.Instance);
        if (_handler.Source is { } source)
        {
            _sourceWatch = _loop.WatchReadable(source, QueueProtocol.SourceReady.Instance, armed: false);
        }
        if (_handler is ICompletingQueueHandler { Completions: { } completions } completing)
        {
            completing.Attach(_queue);
            _completing = completing;
            _completionWatch = _loop.WatchEventFd(completions, QueueProtocol.Completed.Instance);
        }
        if (_pollMax > TimeSpan.Zero)
        {
            _poller = _completing is { } pending ? new RingAndCompletionPoller(_queue, pending, _pollMax) : new RingPoller(_queue, _pollMax);
            _loop.SetIdlePoller(_poller);
        }

        // Linux may fill a queue before DRIVER_OK (the disk probes partitions early): look before waiting.
        Self.Tell(QueueProtocol.Continue.Instance);
    }

    protected override void PostStop()
    {
        FinishInFlight();
        // The watches go first: this runs on the loop's thread, so once they are gone nothing can wake this queue
        // to serve another chain, and the event loop never watches a descriptor closed under it.
        if (_kickWatch is not null)
        {
            _loop!.Unwatch(_kickWatch);
        }
        if (_sourceWatch is not null)
        {
            _loop!.Unwatch(_sourceWatch);
        }
        if (_completionWatch is not null)
        {
            _loop!.Unwatch(_completionWatch);
        }
        if (_poller is not null)
        {
            _loop!.SetIdlePoller(null);
        }
        if (_queue is not null)
        {
            _wiring.Position?.Stop(_queue.NextAvailableIndex);
        }
        _handler.Dispose();
        _wiring.Kick.Dispose();
        (_wiring.Interrupt as IDisposable)?.Dispose();
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case QueueProtocol.Kicked:
                _counters.Kicked();
                Service();
                break;
            case QueueProtocol.SourceReady:
            case QueueProtocol.Continue:
            case QueueProtocol.Polled:
                Service();
                break;
            case QueueProtocol.Completed:
                Reap();
                break;
            case QueueProtocol.PollExpired:
                // Polling kept notifications off; ask for kicks again, and serve what arrived before the guest saw it.
                if (_queue!.EnableNotifications())
                {
                    Service();
                }
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// The heart of every queue: drain, interrupt if the guest asked for it, then re-enable notifications and look
    /// once more, because the guest may have added a buffer after we looked and before it could see the flag.
    /// </summary>
    private void Service()
    {
        SplitQueue queue = _queue!;
        try
        {
            while (true)
            {
                queue.DisableNotifications();
                DrainResult result = QueueDrainer.Drain(_handler, queue, _chain, BatchBudget);
                if (_completing is { } completing)
                {
                    completing.Submit();
                    completing.Complete();
                }
                if (queue.NeedsNotification())
                {
                    _wiring.Interrupt.Raise();
                    _counters.Interrupted();
                }

                switch (result)
                {
                    case DrainResult.BudgetSpent:
                        Self.Tell(QueueProtocol.Continue.Instance);
                        return;
                    case DrainResult.SourceEmpty:
                        // Buffers are waiting, data is not: the source wakes us, kicks would only cost exits.
                        WatchSource(true);
                        return;
                    case DrainResult.RingEmpty:
                        WatchSource(false);
                        if (_poller is { Enabled: true } poller)
                        {
                            // Notifications stay off while the loop polls the ring; PollExpired turns them back on.
                            poller.ArmAfterDrain();
                            if (poller.Armed)
                            {
                                return;
                            }
                        }
                        if (queue.EnableNotifications())
                        {
                            continue;
                        }
                        return;
                }
            }
        }
        catch (Exception e) when (e is not DeviceFaultException)
        {
            throw Fault(queue, e);
        }
    }

    /// <summary>
    /// Why: pending work finished; its chains are published, and the guest is interrupted by the ring's rules exactly
    /// as after a drain.
    /// </summary>
    private void Reap()
    {
        SplitQueue queue = _queue!;
        try
        {
            if (_completing!.Complete() > 0 && queue.NeedsNotification())
            {
                _wiring.Interrupt.Raise();
                _counters.Interrupted();
            }
        }
        catch (Exception e) when (e is not DeviceFaultException)
        {
            throw Fault(queue, e);
        }
    }

    /// <summary>
    /// Why: the kernel reads guest memory for a write in flight, so no queue may stop, reset, be replaced or see its
    /// memory unmapped (every one of which goes through PostStop) until each of them has completed. They are
    /// published as used, so the driver gets its answers from this back end; on a ring already poisoned they stay in
    /// flight in the inflight record instead, for the next back end to serve again. The guest is interrupted for them
    /// whatever it asked, as a spurious interrupt is allowed and a lost one stalls it. A failure here is logged: the
    /// queue is going away either way.
    /// </summary>
    private void FinishInFlight()
    {
        if (_completing is not { } completing || _queue is not { } queue)
        {
            return;
        }
        try
        {
            completing.CompleteAll();
        }
        catch (Exception e)
        {
            _log.Warning("{Device}/{Queue}: finishing the requests in flight failed: {Reason}", _device, _wiring.Name, e.Message);
        }
        InterruptForCompletionsBeforeTheFault(queue);
    }

    /// <summary>
    /// Why: serving and reaping fail the same way. The reason is logged where it happened, the guest hears about
    /// what was completed before it, and supervision gets the fault naming this queue.
    /// </summary>
    private DeviceFaultException Fault(SplitQueue queue, Exception cause)
    {
        _log.Warning("{Device}/{Queue}: {Reason}", _device, _wiring.Name, cause.Message);
        InterruptForCompletionsBeforeTheFault(queue);
        return new DeviceFaultException(_device, _wiring.Name, cause);
    }

    /// <summary>
    /// Why: a fault in the middle of a batch leaves the chains completed earlier in that batch published in the used
    /// ring but never signalled, because the interrupt is raised after the drain. Under restart-device over vhost-user
    /// the front end keeps those requests across its reconnection and the used ring says they are done, so nothing
    /// would ever answer them (with EVENT_IDX the next device is already past used_event and does not signal either).
    /// The interrupt is raised whatever the driver asked for, as a spurious one is allowed; if the line itself fails,
    /// the fault already on its way is the one supervision judges.
    /// </summary>
    private void InterruptForCompletionsBeforeTheFault(SplitQueue queue)
    {
        if (!queue.HasUnsignalledUsed)
        {
            return;
        }
        try
        {
            _wiring.Interrupt.Raise();
            _counters.Interrupted();
        }
        catch (Exception e)
        {
            _log.Warning("{Device}/{Queue}: interrupting the guest for the requests completed before the fault failed: {Reason}", _device, _wiring.Name, e.Message);
        }
    }

    /// <summary>
    /// Why: source readability should wake the queue only while the ring has buffers to fill; a readable tap with
    /// nowhere to put the frame would otherwise wake us in a loop.
    /// </summary>
    private void WatchSource(bool watch)
    {
        if (_sourceWatch is not null)
        {
            _loop!.Arm(_sourceWatch, watch);
        }
    }
}
