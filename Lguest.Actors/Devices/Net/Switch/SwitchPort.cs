using Akka.Actor;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// One port's share of the frame path: its number in the switch, the queue other ports deliver into, its counters,
/// and whether a guest is attached (frames are only queued for a port whose guest can take them). The port's
/// device attaches and detaches it; its port actor is told, so attachment is logged and can be asked about.
/// </summary>
internal sealed class SwitchPort : IDisposable
{
    private volatile bool _attached;
    private long _features;
    private IActorRef? _actor;

    public SwitchPort(NetworkSwitch owner, int index, string name, int queueCapacity)
    {
        Switch = owner;
        Index = index;
        Name = name;
        Inbound = new FrameQueue(queueCapacity);
        Counters = new SwitchPortCounters(owner.Name, name);
    }

    public NetworkSwitch Switch { get; }

    public int Index { get; }

    /// <summary>The port's name in logs and on its metrics: the socket's file name, or "uplink".</summary>
    public string Name { get; }

    public FrameQueue Inbound { get; }

    public SwitchPortCounters Counters { get; }

    public bool IsAttached => _attached;

    /// <summary>The features the attached guest negotiated: which offloads it can take.</summary>
    public ulong Features => (ulong)Interlocked.Read(ref _features);

    /// <summary>The port actor registers itself, so attachment reaches it as a message.</summary>
    public void Register(IActorRef actor) => Volatile.Write(ref _actor, actor);

    /// <summary>
    /// A guest drives this port now (its driver set DRIVER_OK, or its first ring started). A vhost-user front end
    /// may stop and restart its rings while setting up, which activates the device again: one attachment still.
    /// </summary>
    public void Attach(ulong features)
    {
        Interlocked.Exchange(ref _features, (long)features);
        if (_attached)
        {
            return;
        }
        _attached = true;
        Volatile.Read(ref _actor)?.Tell(new SwitchProtocol.PortAttached(Index, features));
    }

    /// <summary>
    /// The guest has gone (reset, disconnect, supervision): stop queueing for it, forget its addresses, and throw
    /// away what waited for it. Called with the port's receive thread stopped, so the queue has no consumer to race.
    /// </summary>
    public void Detach()
    {
        if (!_attached)
        {
            return;
        }
        _attached = false;
        int forgotten = Switch.Table.Forget(Index);
        int discarded = Inbound.Discard();
        Volatile.Read(ref _actor)?.Tell(new SwitchProtocol.PortDetached(Index, forgotten, discarded));
    }

    public void Dispose() => Inbound.Dispose();
}
