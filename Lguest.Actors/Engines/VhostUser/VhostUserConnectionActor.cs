using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Engines.VhostUser;

/// <summary>
/// One front end (QEMU) connected to one device's socket. It answers the protocol through a
/// <see cref="VhostUserSession"/>, and the session's ring starts and stops become queue starts and stops on a device
/// actor of its own, so the same queue actors, on the same eventfd-pinned threads, serve QEMU as served lguest.
///
/// It runs on a pinned thread because stopping a ring is synchronous in the protocol (GET_VRING_BASE answers with
/// where the ring stopped): the thread waits for the queue to stop, and no shared dispatcher ever does.
/// When the front end goes away this actor stops: its device actor and every queue stop first, and only then are
/// the guest's memory mappings and the fds released.
/// </summary>
internal sealed class VhostUserConnectionActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan RingTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long the rest of a started message may take, and how long a reply may wait to be read.</summary>
    public static readonly TimeSpan MessageDeadline = TimeSpan.FromSeconds(5);

    /// <summary>How long a new front end may take to send SET_OWNER; QEMU sends it at once.</summary>
    public static readonly TimeSpan HandshakeDeadline = TimeSpan.FromSeconds(10);

    private readonly VirtioDevice _device;
    private readonly FileDescriptor _socket;
    private readonly SupervisionSettings _supervision;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<int, RingPosition> _positions = [];
    private VhostUserChannel? _channel;
    private VhostUserSession? _session;
    private MessageReader? _reader;
    private readonly RestartBudget _budget;
    private IActorRef? _deviceActor;

    public VhostUserConnectionActor(VirtioDevice device, FileDescriptor socket, SupervisionSettings supervision, RestartBudget budget)
    {
        _device = device;
        _socket = socket;
        _supervision = supervision;
        _budget = budget;

        Receive<VhostUserMessage>(Handle);
        Receive<VhostUserProtocolMessages.Disconnected>(d =>
        {
            if (d.GuestError)
            {
                _log.Warning("{0}: guest error, disconnecting: {1}", _device.Name, d.Reason);
            }
            else
            {
                _log.Info("{0}: {1}", _device.Name, d.Reason);
            }
            Context.Stop(Self);
        });
        Receive<VhostUserProtocolMessages.ReaderFailed>(f =>
            throw new InvalidOperationException($"{_device.Name}: reading from the front end failed: {f.Cause.Message}", f.Cause));
        Receive<VhostUserProtocolMessages.HandshakeDeadline>(_ =>
        {
            if (!_session!.HasOwner)
            {
                _log.Warning("{0}: guest error, disconnecting: the front end did not send SET_OWNER within {1} s of connecting",
                    _device.Name, HandshakeDeadline.TotalSeconds);
                Context.Stop(Self);
            }
        });
        Receive<DeviceProtocol.NeedsReset>(n =>
        {
            // vhost-user has no status byte for DEVICE_NEEDS_RESET; dropping the connection is how a back end asks
            // the front end to set the device up afresh (QEMU re-negotiates everything when it reconnects).
            _log.Warning("{0}: guest error, disconnecting so the front end re-initialises the device: {1}", _device.Name, n.Reason);
            Context.Stop(Self);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(VirtioDevice device, FileDescriptor socket, SupervisionSettings supervision, RestartBudget budget)
        => Akka.Actor.Props.Create(() => new VhostUserConnectionActor(device, socket, supervision, budget)).WithDispatcher(Dispatchers.Guest);

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
        _log.Info("{0}: front end connected", _device.Name);
    }

    /// <summary>Children (the device and its queues) have stopped by now: memory and fds can go.</summary>
    protected override void PostStop()
    {
        _reader?.Dispose();
        _session?.Dispose();
        _channel?.Dispose();
    }

    /// <summary>
    /// Each message is answered and then given back to the reader as a credit, however it ended: that is what keeps
    /// a flooding front end's requests in its own socket buffer rather than in our mailbox.
    /// </summary>
    private void Handle(VhostUserMessage message)
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
    }

    /// <summary>
    /// A protocol violation, a front end that does not read its reply, or a device that did not start or stop a ring
    /// in time costs this connection only: the front end reconnects and sets the device up afresh.
    /// </summary>
    private void Answer(VhostUserMessage message)
    {
        VhostUserOutcome outcome;
        try
        {
            outcome = _session!.Handle(message);
        }
        catch (VhostUserProtocolException e)
        {
            _log.Warning("{0}: the front end broke the protocol, disconnecting: {1}", _device.Name, e.Message);
            Context.Stop(Self);
            return;
        }
        catch (AskTimeoutException)
        {
            _log.Warning("{0}: {1} did not finish within {2} s; disconnecting", _device.Name, message.Request, RingTimeout.TotalSeconds);
            Context.Stop(Self);
            return;
        }
        if (outcome.Rejection is { } rejected)
        {
            _log.Warning("{0}: refused {1}: {2}", _device.Name, outcome.Request, rejected.Message);
        }
        if (outcome.Reply is { } reply)
        {
            try
            {
                _channel!.SendReply(outcome.Request, reply);
            }
            catch (SystemCallException e)
            {
                _log.Info("{0}: the front end went away or stopped reading while we replied: {1}", _device.Name, e.Message);
                Context.Stop(Self);
            }
        }
    }

    private void StartRing(VhostUserRingStart ring)
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
            position);
        _positions[ring.Index] = position;
        _deviceActor!.Ask<DeviceProtocol.QueueStarted>(new DeviceProtocol.StartQueue(ring.Memory, _session!.AckedFeatures, wiring), RingTimeout)
            .GetAwaiter().GetResult();
    }

    private ushort StopRing(int index)
    {
        RingPosition? position = _positions.GetValueOrDefault(index);
        if (_deviceActor is not null && !Context.Child("device").IsNobody())
        {
            DeviceProtocol.QueueStopped stopped = _deviceActor
                .Ask<DeviceProtocol.QueueStopped>(new DeviceProtocol.StopQueue(index), RingTimeout)
                .GetAwaiter().GetResult();
            if (stopped.NextAvailable is { } next)
            {
                return next;
            }
        }
        // The device actor is already gone (the connection is closing): its queues recorded where they stopped.
        return position?.StoppedAt ?? position?.StartAvailable ?? 0;
    }

    /// <summary>The session's view of this actor: called synchronously from inside <see cref="VhostUserSession.Handle"/>.</summary>
    private sealed class RingControl(VhostUserConnectionActor connection) : IVhostUserRingControl
    {
        public void StartRing(VhostUserRingStart ring) => connection.StartRing(ring);

        public ushort StopRing(int index) => connection.StopRing(index);

        public void MemoryChanging()
        {
            // Every ring is stopped before the session calls this, and queue actors drop their memory when they stop.
        }
    }

    private sealed class NoInterrupt : IInterruptLine
    {
        public static readonly NoInterrupt Instance = new();

        public void Raise()
        {
        }
    }
}
