using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Devices;

/// <summary>
/// One virtio device: it owns the device model and supervises one actor per served queue.
///
/// It is where the seed's "a device thread died, so kill the launcher" lives, and where we can do better: a host
/// failure still escalates (the launcher cannot answer a dead tap), but a guest that breaks the ring rules can,
/// by configuration, cost only its own device: every queue stops, the device resets, and the transport is told to
/// set DEVICE_NEEDS_RESET so the driver starts it again. Too many of those within the window and we escalate after all.
/// </summary>
internal sealed class DeviceActor : ReceiveActor, IWithUnboundedStash
{
    private readonly VirtioDevice _device;
    private readonly bool _ownsDevice;
    private readonly SupervisionSettings _supervision;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, QueueWiring> _queues = [];
    private readonly Dictionary<IActorRef, IActorRef> _queueStopWaiters = [];
    private readonly List<IActorRef> _resetWaiters = [];
    private readonly RestartBudget _budget;
    private string? _faultBeingRecovered;
    private bool _recovering;
    private bool _awaitingReset;
    private long _generation;

    /// <param name="ownsDevice">
    /// Whether the device model dies with this actor. A vhost-user back end keeps its device (its open file, its tap)
    /// across front-end connections and gives each connection a fresh device actor over it.
    /// </param>
    /// <param name="budget">The device's restart budget when it outlives this actor (vhost-user); a fresh one otherwise.</param>
    public DeviceActor(VirtioDevice device, SupervisionSettings supervision, Func<DateTime>? clock = null, bool ownsDevice = true, RestartBudget? budget = null)
    {
        _device = device;
        _ownsDevice = ownsDevice;
        _supervision = supervision;
        _budget = budget ?? new RestartBudget(supervision, clock);
        Idle();
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(VirtioDevice device, SupervisionSettings supervision, Func<DateTime>? clock = null, bool ownsDevice = true, RestartBudget? budget = null)
        => Akka.Actor.Props.Create(() => new DeviceActor(device, supervision, clock, ownsDevice, budget));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, Decide, loggingEnabled: false); // Decide logs one line per failure

    protected override void PreStart() => _device.LogThrough(_log);

    protected override void PostStop()
    {
        _device.Reset();
        if (_ownsDevice)
        {
            _device.Dispose();
        }
    }

    private void Idle()
    {
        Receive<DeviceProtocol.Activate>(Activate);
        Receive<DeviceProtocol.StartQueue>(StartQueue);
        Receive<DeviceProtocol.StopQueue>(stop => Sender.Tell(new DeviceProtocol.QueueStopped(stop.Index, null)));
        Receive<DeviceProtocol.Reset>(_ =>
        {
            _device.Reset();
            _awaitingReset = false;
            Sender.Tell(new DeviceProtocol.WasReset(_device.Name));
        });
        Receive<GuestFaulted>(_ => _recovering = false); // a fault from a queue that has already gone: nothing left to stop
    }

    private void Running()
    {
        Receive<DeviceProtocol.Activate>(_ =>
        {
            _log.Warning("{Device}: activated while already running; ignored", _device.Name);
            Sender.Tell(new DeviceProtocol.Activated(_device.Name));
        });
        Receive<DeviceProtocol.Reset>(_ =>
        {
            _resetWaiters.Add(Sender);
            StopQueues();
        });
        Receive<DeviceProtocol.StartQueue>(StartQueue);
        Receive<DeviceProtocol.StopQueue>(StopQueue);
        Receive<GuestFaulted>(fault =>
        {
            _faultBeingRecovered = fault.Reason;
            StopQueues();
        });
        Receive<Terminated>(t =>
        {
            QueueGone(t.ActorRef);
            if (_queues.Count == 0)
            {
                Become(Idle);
            }
        });
    }

    private void Stopping()
    {
        Receive<Terminated>(t =>
        {
            QueueGone(t.ActorRef);
            if (_queues.Count == 0)
            {
                FinishStopping();
            }
        });
        Receive<DeviceProtocol.Reset>(_ => _resetWaiters.Add(Sender));
        Receive<GuestFaulted>(fault => _faultBeingRecovered ??= fault.Reason);
        ReceiveAny(_ => Stash.Stash());
    }

    private void Activate(DeviceProtocol.Activate activate)
    {
        _awaitingReset = false; // the driver has set the device up afresh
        _device.Activate(activate.Memory, activate.Features);
        foreach (QueueWiring wiring in activate.Queues)
        {
            Serve(wiring);
        }
        Become(_queues.Count > 0 ? Running : Idle);
        Sender.Tell(new DeviceProtocol.Activated(_device.Name));
    }

    /// <summary>
    /// vhost-user starts rings one at a time; the first ring of a session activates the device with the negotiated
    /// features.
    /// </summary>
    private void StartQueue(DeviceProtocol.StartQueue start)
    {
        if (_awaitingReset)
        {
            // The transport has been told the device needs a reset (vhost-user: the connection is about to drop);
            // rings it starts meanwhile, queued before it heard, are not served, so they cannot fault again and
            // spend the restart budget in one burst.
            start.Queue.Kick.Dispose();
            (start.Queue.Interrupt as IDisposable)?.Dispose();
            Sender.Tell(new DeviceProtocol.QueueStarted(start.Queue.Index));
            return;
        }
        if (_queues.Values.Any(q => q.Index == start.Queue.Index))
        {
            throw new ArgumentException($"{_device.Name}: queue {start.Queue.Index} is already being served");
        }
        if (_queues.Count == 0)
        {
            _device.Activate(start.Memory, start.Features);
        }
        Serve(start.Queue);
        if (_queues.Count > 0)
        {
            Become(Running);
        }
        Sender.Tell(new DeviceProtocol.QueueStarted(start.Queue.Index));
    }

    private void StopQueue(DeviceProtocol.StopQueue stop)
    {
        IActorRef? queue = _queues.FirstOrDefault(q => q.Value.Index == stop.Index).Key;
        if (queue is null)
        {
            Sender.Tell(new DeviceProtocol.QueueStopped(stop.Index, null));
            return;
        }
        _queueStopWaiters[queue] = Sender;
        Context.Stop(queue);
    }

    private void Serve(QueueWiring wiring)
    {
        if (wiring.Index < 0 || wiring.Index >= _device.Queues.Count)
        {
            wiring.Kick.Dispose();
            throw new ArgumentException($"{_device.Name} has {_device.Queues.Count} queue(s); the transport wired queue {wiring.Index}");
        }
        QueueDefinition definition = _device.Queues[wiring.Index];
        IQueueHandler? handler = definition.CreateHandler?.Invoke();
        if (handler is null)
        {
            wiring.Kick.Dispose();
            return;
        }
        IActorRef queue = Context.ActorOf(VirtqueueActor.Props(_device.Name, wiring, handler, definition.PollMax), $"queue-{wiring.Index}-{wiring.Name}-{++_generation}");
        Context.Watch(queue);
        _queues.Add(queue, wiring);
    }

    /// <summary>A queue actor has terminated: forget it, and answer whoever asked for exactly this queue to stop.</summary>
    private void QueueGone(IActorRef queue)
    {
        if (_queues.Remove(queue, out QueueWiring? wiring) && _queueStopWaiters.Remove(queue, out IActorRef? waiter))
        {
            waiter.Tell(new DeviceProtocol.QueueStopped(wiring.Index, wiring.Position?.StoppedAt));
        }
    }

    private void StopQueues()
    {
        if (_queues.Count == 0)
        {
            FinishStopping();
            return;
        }
        foreach (IActorRef queue in _queues.Keys)
        {
            Context.Stop(queue);
        }
        Become(Stopping);
    }

    private void FinishStopping()
    {
        _device.Reset();
        foreach (IActorRef waiter in _resetWaiters)
        {
            waiter.Tell(new DeviceProtocol.WasReset(_device.Name));
        }
        _resetWaiters.Clear();
        _recovering = false;
        _awaitingReset = _faultBeingRecovered is not null;
        if (_faultBeingRecovered is { } reason)
        {
            _faultBeingRecovered = null;
            Context.Parent.Tell(new DeviceProtocol.NeedsReset(_device.Name, reason));
        }
        Become(Idle);
        Stash.UnstashAll();
    }

    /// <summary>
    /// Runs inside this actor when a queue actor fails: host failures and policy-exceeding guest failures escalate
    /// to the guest actor (which ends the launcher); a tolerated guest failure stops the queue and resets the device.
    /// A fault in a queue's PreStart arrives wrapped by Akka and is judged by what it wraps. Faults that arrive while
    /// a recovery is already under way (several queues failing on one bad ring set-up) share that one restart.
    /// </summary>
    private Directive Decide(Exception failure)
    {
        if (failure is ActorInitializationException { InnerException: { } initFailure })
        {
            failure = initFailure;
        }
        if (failure is not DeviceFaultException { IsGuestFault: true } fault
            || _supervision.GuestErrors != GuestErrorPolicy.RestartDevice)
        {
            return Directive.Escalate;
        }
        string reason = fault.InnerException!.Message;
        if (_recovering)
        {
            _log.Warning("{Device}: guest error during the restart already under way: {Reason}", _device.Name, reason);
            return Directive.Stop;
        }

        if (_budget.TrySpend() is not { } spent)
        {
            _log.Error("{Device}: {MaxRestarts} restarts within {Window}; giving up on the device", _device.Name, _budget.MaxRestarts, _budget.Window);
            return Directive.Escalate;
        }
        _recovering = true;
        _log.Warning("{Device}: guest error, restarting the device ({Spent} of {MaxRestarts} allowed within {Window}): {Reason}",
            _device.Name, spent, _budget.MaxRestarts, _budget.Window, reason);
        Self.Tell(new GuestFaulted(reason));
        return Directive.Stop;
    }

    /// <summary>Sent to self by <see cref="Decide"/>: reset the device after a tolerated guest error.</summary>
    private sealed record GuestFaulted(string Reason);
}
