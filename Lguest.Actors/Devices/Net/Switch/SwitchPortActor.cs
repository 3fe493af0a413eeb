using Akka.Actor;
using Akka.Event;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// One port of a switch, as the actor system sees it: it hears when a guest attaches and detaches (its device says
/// so), logs it, and answers for the port's state and counters. Frames never pass through it.
/// </summary>
internal sealed class SwitchPortActor : ReceiveActor
{
    private readonly SwitchPort _port;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _attachments;

    public SwitchPortActor(SwitchPort port)
    {
        _port = port;
        Receive<SwitchProtocol.PortAttached>(attached =>
        {
            _attachments++;
            _log.Info("switch {Switch}: port {Port} attached ({HeaderBytes}-byte headers)", _port.Switch.Name, _port.Name, NetProtocol.HeaderSizeFor(attached.Features));
        });
        Receive<SwitchProtocol.PortDetached>(detached =>
            _log.Info("switch {Switch}: port {Port} detached; {Addresses} address(es) forgotten, {Frames} waiting frame(s) discarded",
                _port.Switch.Name, _port.Name, detached.AddressesForgotten, detached.FramesDiscarded));
        Receive<SwitchProtocol.GetPortState>(_ => Sender.Tell(State()));
    }

    public static Props Props(SwitchPort port) => Akka.Actor.Props.Create(() => new SwitchPortActor(port));

    /// <summary>A guest may have attached before this actor existed (the devices start first): count it.</summary>
    protected override void PreStart()
    {
        _port.Register(Self);
        if (_port.IsAttached)
        {
            _attachments++;
        }
    }

    private SwitchProtocol.PortState State() =>
        new(_port.Name, _port.IsAttached, _attachments, _port.Inbound.Count, _port.Counters.Snapshot());
}
