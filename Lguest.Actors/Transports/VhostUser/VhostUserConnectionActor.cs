using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// One front end (QEMU) connected to one device's socket. It answers the protocol through a
/// <see cref="VhostUserSession"/>, and the session's ring starts and stops become queue starts and stops on a device
/// actor of its own, so the same queue actors serve QEMU as serve lguest: each on an event-loop thread of its own
/// (the queue dispatcher) that sleeps in poll() on the kick eventfd the front end sent with SET_VRING_KICK.
///
/// Stopping a ring is synchronous in the protocol (GET_VRING_BASE answers with where the ring stopped, and a new
/// memory table must not be mapped while a queue still reads the old one), but no dispatcher thread ever waits: a
/// message that may stop running rings is held, with everything after it stashed, until those queues have stopped;
/// the session then finds them stopped and answers at once. When the front end goes away this actor stops: its
/// device actor and every queue stop first, and only then are the guest's memory mappings and the fds released.
/// </summary>
internal sealed class VhostUserConnectionActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    /// <summary>How long the rest of a started message may take, and how long a reply may wait to be read.</summary>
    public static readonly TimeSpan MessageDeadline = TimeSpan.FromSeconds(5);

    /// <summary>How long a new front end may take to send SET_OWNER; QEMU sends it at once.</summary>
    public static readonly TimeSpan HandshakeDeadline = TimeSpan.FromSeconds(10);

    private readonly VirtioDevice _device;
    private readonly FileDescriptor _socket;
    private readonly SupervisionSettings _supervision;
    private readonly RestartBudget _budget;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<int, ServedRing> _served = [];
    private readonly HashSet<int> _stopping = [];
    private VhostUserMessage? _held;
    private bool _closed;
    private VhostUserChannel? _channel;
    private VhostUserSession? _session;
    private MessageReader? _reader;
    private IActorRef? _deviceActor;

    public VhostUserConnectionActor(VirtioDevice device, FileDescriptor socket, SupervisionSettings supervision, RestartBudget budget)
    {
        _device = device;
        _socket = socket;
        _supervision = supervision;
        _budget = budget;

        Connected();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(VirtioDevice device, FileDescriptor socket, SupervisionSettings supervision, RestartBudget budget)
        => Akka.Actor.Props.Create(() => new VhostUserConnectionActor(device, socket, supervision, budget));

    /// <summary>Device failures go up to the back end, which applies the launcher's policy.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);

    protected override void PreStart()
    {
        _channel = new VhostUserChannel(_socket) { MessageDeadline = MessageDeadline };
        _channel.SetSendDeadline(MessageDeadline);
        _deviceActor = Context.ActorOf(DeviceActor.Props(_device, _supervision, ownsDevice: false, budget: _budget), "device");
        _session = new VhostUserSession(VhostUserDevices.OptionsFor(_device), new RingControl(this));
        _reader = new MessageReader(_channel, Self);
        Timers.StartSingleTimer("handshake", new VhostUserProtocolMessages.HandshakeDeadline(), HandshakeDeadline);
        _log.Info("{Device}: front end connected", _device.Name);
    }

    /// <summary>Children (the device and its queues) have stopped by now: memory and fds can go.</summary>
    protected override void PostStop()
    {
        _closed = true;
        _reader?.Dispose();
        _held?.Dispose();
        _session?.Dispose();
        _channel?.Dispose();
    }

    private void Connected()
    {
        Receive<VhostUserMessage>(Handle);
        Receive<DeviceProtocol.QueueStarted>(_ => { });
        Receive<DeviceProtocol.QueueStopped>(_ => { });
        Leaving();
    }

    /// <summary>A message is held until the rings it may stop have stopped; the next messages wait behind it.</summary>
    private void StoppingRings()
    {
        Receive<DeviceProtocol.QueueStopped>(stopped =>
        {
            _stopping.Remove(stopped.Index);
            if (_stopping.Count > 0)
            {
                return;
            }
            VhostUserMessage held = _held!;
            _held = null;
            Become(Connected);
            Apply(held);
            Stash.UnstashAll();
        });
        Receive<DeviceProtocol.QueueStarted>(_ => { });
        Leaving();
        ReceiveAny(_ => Stash.Stash());
    }

    private void Leaving()
    {
        Receive<VhostUserProtocolMessages.Disconnected>(d =>
        {
            if (d.GuestError)
            {
                _log.Warning("{Device}: guest error, disconnecting: {Reason}", _device.Name, d.Reason);
            }
            else
            {
                _log.Info("{Device}: {Reason}", _device.Name, d.Reason);
            }
            Context.Stop(Self);
        });
        Receive<VhostUserProtocolMessages.ReaderFailed>(f =>
            throw new InvalidOperationException($"{_device.Name}: reading from the front end failed: {f.Cause.Message}", f.Cause));
        Receive<VhostUserProtocolMessages.HandshakeDeadline>(_ =>
        {
            if (!_session!.HasOwner)
            {
                _log.Warning("{Device}: guest error, disconnecting: the front end did not send SET_OWNER within {Seconds} s of connecting",
                    _device.Name, HandshakeDeadline.TotalSeconds);
                Context.Stop(Self);
            }
        });
        Receive<DeviceProtocol.NeedsReset>(n =>
        {
            // vhost-user has no status byte for DEVICE_NEEDS_RESET; dropping the connection is how a back end asks
            // the front end to set the device up afresh (QEMU re-negotiates everything when it reconnects).
            _log.Warning("{Device}: guest error, disconnecting so the front end re-initialises the device: {Reason}", _device.Name, n.Reason);
            Context.Stop(Self);
        });
    }

    /// <summary>
    /// Why: the session stops rings synchronously, and this thread must not wait. So the queues this message may
    /// stop are stopped first, by message; the message is applied when the last of them has answered.
    /// </summary>
    private void Handle(VhostUserMessage message)
    {
        foreach (int index in RingsStoppedBy(message))
        {
            if (_served.TryGetValue(index, out ServedRing? ring) && ring.Running)
            {
                ring.Running = false;
                _stopping.Add(index);
                _deviceActor!.Tell(new DeviceProtocol.StopQueue(index));
            }
        }
        if (_stopping.Count == 0)
        {
            Apply(message);
            return;
        }
        _held = message;
        Become(StoppingRings);
    }

    /// <summary>
    /// The rings a message can make the session stop: every ring for the requests that replace memory, features or
    /// the whole device, the named ring for the per-ring requests that may stop it; none for the rest.
    /// </summary>
    private IEnumerable<int> RingsStoppedBy(VhostUserMessage message)
    {
        if (Context.Child("device").IsNobody())
        {
            return [];
        }
        switch (message.Request)
        {
            case VhostUserRequest.SetMemTable or VhostUserRequest.SetFeatures or VhostUserRequest.ResetOwner or VhostUserRequest.ResetDevice:
                return [.. _served.Keys];
            case VhostUserRequest.GetVringBase or VhostUserRequest.SetVringAddr or VhostUserRequest.SetVringKick
                or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr or VhostUserRequest.SetVringEnable:
                uint? index = message.Payload switch
                {
                    VhostUserVringState state => state.Index,
                    VhostUserVringAddress address => address.Index,
                    VhostUserVringFile file => file.Index,
                    _ => null,
                };
                return index is { } i && i < int.MaxValue ? [(int)i] : [];
            default:
                return [];
        }
    }

    /// <summary>
    /// Hands the message to the session (whose ring stops now find their queues stopped) and replies. Each message
    /// is then given back to the reader as a credit, however it ended: that is what keeps a flooding front end's
    /// requests in its own socket buffer rather than in our mailbox.
    /// </summary>
    private void Apply(VhostUserMessage message)
    {
        using (message)
        {
            try
            {
                Answer(message);
            }
            finally
            {
                _reader?.Handled();
            }
        }
        ResumeRingsTheSessionKept();
    }

    /// <summary>A protocol violation, or a front end that does not read its reply, costs this connection only.</summary>
    private void Answer(VhostUserMessage message)
    {
        VhostUserOutcome outcome;
        try
        {
            outcome = _session!.Handle(message);
        }
        catch (VhostUserProtocolException e)
        {
            _log.Warning("{Device}: the front end broke the protocol, disconnecting: {Reason}", _device.Name, e.Message);
            Context.Stop(Self);
            return;
        }
        if (outcome.Rejection is { } rejected)
        {
            _log.Warning("{Device}: refused {Request}: {Reason}", _device.Name, outcome.Request, rejected.Message);
        }
        else if (outcome.Request is VhostUserRequest.GetInflightFd or VhostUserRequest.SetInflightFd && _session!.Inflight is { } inflight)
        {
            // Once per connection: says whether a restart of this back end can finish what it had in flight.
            _log.Info("{Device}: {Request}: requests in flight are tracked in a shared region ({Queues} queue(s) of {QueueSize})", _device.Name, outcome.Request, inflight.NumQueues, inflight.QueueSize);
        }
        using FileDescriptor? replyFd = outcome.ReplyFd;
        if (outcome.Reply is { } reply)
        {
            try
            {
                _channel!.SendReply(outcome.Request, reply, replyFd is null ? default : [replyFd]);
            }
            catch (SystemCallException e)
            {
                _log.Info("{Device}: the front end went away or stopped reading while we replied: {Reason}", _device.Name, e.Message);
                Context.Stop(Self);
            }
        }
    }

    /// <summary>
    /// Why: a ring stopped ahead of a message that turned out not to stop it (a refused request, an enable that
    /// changed nothing) is still running as far as the session knows, so it is served again from where it stopped.
    /// </summary>
    private void ResumeRingsTheSessionKept()
    {
        foreach (ServedRing ring in _served.Values)
        {
            if (!ring.Running)
            {
                ushort next = ring.Position.StoppedAt ?? ring.Position.StartAvailable;
                Serve(ring.Start with { Base = next });
            }
        }
    }

    /// <summary>Why: a ring the session starts is served at once; the device actor answers, and no one waits for it.</summary>
    private void Serve(VhostUserRingStart ring)
    {
        if (ring.Kick is null)
        {
            throw new VhostUserProtocolException(VhostUserViolation.UnsupportedRequest, $"ring {ring.Index}: polling mode (no kick fd) is not supported");
        }
        var position = new RingPosition(ring.Base, resumeUsed: true);
        IInterruptLine interrupt = ring.Call is null ? NoInterrupt.Instance : new FrontEndCallLine(EventFd.Adopt(ring.Call.Duplicate()));
        var wiring = new QueueWiring(
            ring.Index,
            _device.Queues[ring.Index].Name,
            ring.Memory,
            ring.Layout,
            ring.Features,
            EventFd.Adopt(ring.Kick.Duplicate()),
            interrupt,
            position,
            ring.Inflight);
        _served[ring.Index] = new ServedRing(ring, position);
        _log.Debug("{Device}: serving ring {Ring} ({Queue}) from available index {Available}", _device.Name, ring.Index, wiring.Name, ring.Base);
        _deviceActor!.Tell(new DeviceProtocol.StartQueue(ring.Memory, _session!.AckedFeatures, wiring));
    }

    /// <summary>
    /// The session stops only rings whose queues <see cref="Handle"/> already stopped (or that stopped with the device
    /// actor, as the connection closes: children stop before PostStop), so where each stopped is known without waiting.
    /// </summary>
    private ushort StoppedRing(int index)
    {
        if (!_served.Remove(index, out ServedRing? ring))
        {
            throw new InvalidOperationException($"{_device.Name}: the session stopped ring {index}, which was not being served");
        }
        if (ring.Running && ring.Position.StoppedAt is null && !_closed)
        {
            throw new InvalidOperationException($"{_device.Name}: the session stopped ring {index} before its queue was stopped");
        }
        return ring.Position.StoppedAt ?? ring.Position.StartAvailable;
    }

    /// <summary>The session's view of this actor: called synchronously from inside <see cref="VhostUserSession.Handle"/>.</summary>
    private sealed class RingControl(VhostUserConnectionActor connection) : IVhostUserRingControl
    {
        public void StartRing(VhostUserRingStart ring) => connection.Serve(ring);

        public ushort StopRing(int index) => connection.StoppedRing(index);

        public void MemoryChanging()
        {
            // Every ring is stopped before the session calls this, and queue actors drop their memory when they stop.
        }
    }

    /// <summary>A ring as last started, and whether its queue is running (false while a stop is in flight).</summary>
    private sealed class ServedRing(VhostUserRingStart start, RingPosition position)
    {
        public VhostUserRingStart Start { get; } = start;

        public RingPosition Position { get; } = position;

        public bool Running { get; set; } = true;
    }

    private sealed class NoInterrupt : IInterruptLine
    {
        public static readonly NoInterrupt Instance = new();

        public void Raise()
        {
        }
    }
}
