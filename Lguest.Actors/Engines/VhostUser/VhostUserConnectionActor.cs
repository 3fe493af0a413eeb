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
internal sealed class VhostUserConnectionActor : ReceiveActor
{
    private static readonly TimeSpan RingTimeout = TimeSpan.FromSeconds(10);

    private readonly VirtioDevice _device;
    private readonly FileDescriptor _socket;
    private readonly SupervisionSettings _supervision;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<int, RingPosition> _positions = [];
    private VhostUserChannel? _channel;
    private VhostUserSession? _session;
    private MessageReader? _reader;
    private IActorRef? _deviceActor;

    public VhostUserConnectionActor(VirtioDevice device, FileDescriptor socket, SupervisionSettings supervision)
    {
        _device = device;
        _socket = socket;
        _supervision = supervision;

        Receive<VhostUserMessage>(Handle);
        Receive<VhostUserProtocolMessages.Disconnected>(d =>
        {
            _log.Info("{0}: {1}", _device.Name, d.Reason);
            Context.Stop(Self);
        });
        Receive<DeviceProtocol.NeedsReset>(n =>
        {
            // vhost-user has no status byte for DEVICE_NEEDS_RESET; dropping the connection is how a back end asks
            // the front end to set the device up afresh (QEMU re-negotiates everything when it reconnects).
            _log.Warning("{0}: guest error, disconnecting so the front end re-initialises the device: {1}", _device.Name, n.Reason);
            Context.Stop(Self);
        });
    }

    public static Props Props(VirtioDevice device, FileDescriptor socket, SupervisionSettings supervision)
        => Akka.Actor.Props.Create(() => new VhostUserConnectionActor(device, socket, supervision)).WithDispatcher(Dispatchers.Guest);

    /// <summary>Device failures go up to the back end, which applies the launcher's policy.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);

    protected override void PreStart()
    {
        _channel = new VhostUserChannel(_socket);
        _deviceActor = Context.ActorOf(DeviceActor.Props(_device, _supervision, ownsDevice: false), "device");
        _session = new VhostUserSession(VhostUserDevices.OptionsFor(_device), new RingControl(this));
        _reader = new MessageReader(_channel, Self);
        _log.Info("{0}: front end connected", _device.Name);
    }

    /// <summary>Children (the device and its queues) have stopped by now: memory and fds can go.</summary>
    protected override void PostStop()
    {
        _reader?.Dispose();
        _session?.Dispose();
        _channel?.Dispose();
    }

    private void Handle(VhostUserMessage message)
    {
        using (message)
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
                    _log.Info("{0}: the front end went away while we replied: {1}", _device.Name, e.Message);
                    Context.Stop(Self);
                }
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
        IInterruptLine interrupt = ring.Call is null ? NoInterrupt.Instance : new EventFdInterruptLine(EventFd.Adopt(ring.Call.Duplicate()));
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
