using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// One device served on one socket, for as long as the launcher runs: it owns the device model (the open disk file,
/// the tap) and a listener, and gives each front end that connects a connection actor of its own, one at a time.
/// A front end that disconnects (a guest reboot, a crash, QEMU quitting) leaves nothing behind, and the next one
/// is served afresh.
/// </summary>
internal sealed class VhostUserBackendActor : ReceiveActor
{
    private readonly VirtioDevice _device;
    private readonly string _socketPath;
    private readonly SupervisionSettings _supervision;
    private readonly ListeningSockets? _listening;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private SocketListener? _listener;
    private IActorRef? _connection;
    private readonly RestartBudget _budget;
    private Native.Interop.FileDescriptor? _waiting;
    private int _connections;

    public VhostUserBackendActor(VirtioDevice device, string socketPath, SupervisionSettings supervision, ListeningSockets? listening)
    {
        _device = device;
        _socketPath = socketPath;
        _supervision = supervision;
        _listening = listening;
        _budget = new RestartBudget(supervision);

        Receive<VhostUserProtocolMessages.Accepted>(accepted =>
        {
            if (_connection is null)
            {
                Serve(accepted.Socket);
                return;
            }
            // One front end at a time. A reconnect often arrives while the old connection is still releasing its
            // queues and memory, so the newest waits for that instead of being refused; an older waiter gives way.
            if (_waiting is not null)
            {
                _log.Warning("{Device}: another front end connected to {Socket}; dropping the one that was waiting", _device.Name, _socketPath);
                _waiting.Dispose();
            }
            _waiting = accepted.Socket;
        });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_connection))
            {
                return;
            }
            _connection = null;
            if (_waiting is { } next)
            {
                _waiting = null;
                Serve(next);
            }
            else
            {
                _log.Info("{Device}: waiting for a front end on {Socket}", _device.Name, _socketPath);
            }
        });
        Receive<VhostUserProtocolMessages.ListenerFailed>(f =>
            throw new InvalidOperationException($"{_device.Name}: listening on {_socketPath} failed: {f.Cause.Message}", f.Cause));
    }

    public static Props Props(VirtioDevice device, string socketPath, SupervisionSettings supervision, ListeningSockets? listening = null)
        => Akka.Actor.Props.Create(() => new VhostUserBackendActor(device, socketPath, supervision, listening));

    /// <summary>
    /// A front end that breaks the protocol, or whose own fds, memory or rings fail us, loses its connection and nothing
    /// else; such failures carry a <see cref="VhostUserProtocolException"/> somewhere in their chain (a queue's fault
    /// arrives wrapped by its device and by Akka). A device failure follows the launcher's policy: the device actor
    /// has already applied restart-device; what reaches here escalates.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, failure =>
    {
        if (LauncherFailure.CauseOfType<VhostUserProtocolException>(failure) is { } cause)
        {
            _log.Warning("{Device}: guest error, disconnecting the front end: {Reason}", _device.Name, cause.Message);
            return Directive.Stop;
        }
        return Directive.Escalate;
    }, loggingEnabled: false); // a dropped connection is logged above as one line; escalations are logged once, by the service

    private void Serve(Native.Interop.FileDescriptor socket)
    {
        _connection = Context.ActorOf(
            VhostUserConnectionActor.Props(_device, socket, _supervision, _budget), $"connection-{++_connections}");
        Context.Watch(_connection);
    }

    /// <summary>
    /// The socket the launcher bound before the actor system existed, with any front end already waiting in its
    /// backlog; bound here only when there was none (tests, embedding).
    /// </summary>
    protected override void PreStart()
    {
        _listener = new SocketListener(_socketPath, _listening?.Take(_socketPath) ?? UnixSocket.Listen(_socketPath), Self);
        _log.Info("{Device}: serving vhost-user on {Socket}", _device.Name, _socketPath);
    }

    protected override void PostStop()
    {
        _waiting?.Dispose();
        _listener?.Dispose();
        _device.Dispose();
    }
}
