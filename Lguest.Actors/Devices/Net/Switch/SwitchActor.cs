using Akka.Actor;
using Akka.Event;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// One Ethernet segment: it owns the switch's configuration, a port actor per port, the ageing of the address
/// table, and answers for the whole segment's state. The frames themselves go from queue thread to queue thread
/// through <see cref="NetworkSwitch"/>; nothing here is on their path.
/// </summary>
internal sealed class SwitchActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan MinimumSweep = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaximumSweep = TimeSpan.FromSeconds(60);

    private readonly NetworkSwitch _network;
    private readonly (SwitchPort Port, FileDescriptor Tap)? _uplink;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _ports = [];

    public SwitchActor(NetworkSwitch network, (SwitchPort Port, FileDescriptor Tap)? uplink = null)
    {
        _network = network;
        _uplink = uplink;
        Receive<Sweep>(_ =>
        {
            int aged = _network.Table.Sweep();
            if (aged > 0)
            {
                _log.Debug("switch {Switch}: {Aged} address(es) aged out", _network.Name, aged);
            }
        });
        ReceiveAsync<SwitchProtocol.GetState>(async _ =>
        {
            IActorRef asker = Sender;
            var ports = new List<SwitchProtocol.PortState>();
            foreach (IActorRef port in _ports)
            {
                ports.Add(await port.Ask<SwitchProtocol.PortState>(SwitchProtocol.GetPortState.Instance, TimeSpan.FromSeconds(5)).ConfigureAwait(false));
            }
            asker.Tell(new SwitchProtocol.SwitchState(_network.Name, _network.Table.Count, _network.Table.Refused, ports));
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(NetworkSwitch network, (SwitchPort Port, FileDescriptor Tap)? uplink = null) =>
        Akka.Actor.Props.Create(() => new SwitchActor(network, uplink));

    /// <summary>The uplink's tap is ours: when it fails, that is a host failure, and the launcher decides (exit 1).</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, _ => Directive.Escalate, loggingEnabled: false);

    protected override void PreStart()
    {
        foreach (SwitchPort port in _network.Ports)
        {
            _ports.Add(Context.ActorOf(SwitchPortActor.Props(port), $"port-{port.Index}"));
        }
        if (_uplink is { } uplink)
        {
            Context.ActorOf(UplinkActor.Props(uplink.Port, uplink.Tap), "uplink");
        }
        TimeSpan every = _network.Settings.AgeingTime / 4;
        every = every < MinimumSweep ? MinimumSweep : every > MaximumSweep ? MaximumSweep : every;
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, every);
        _log.Info("switch {Switch}: {Ports} port(s), up to {TableSize} addresses, ageing {Ageing}",
            _network.Name, _network.Ports.Count, _network.Settings.MacTableSize, _network.Settings.AgeingTime);
    }

    /// <summary>Timer: forget addresses older than the ageing time, so the table keeps room for new ones.</summary>
    private sealed class Sweep
    {
        public static readonly Sweep Instance = new();
    }
}
