using Lguest.Actors.Configuration;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// One Ethernet segment's frame path: its ports and the table of where each address lives. A port's transmit thread
/// calls <see cref="Forward{TFrame}"/> for each frame its guest sends, and the frame is copied into the queue of
/// each port it goes to, there and then, on that thread: no actor message, no allocation, no lock but the table's.
/// It is an Ethernet switch's rules: learn the source, send a known unicast destination to its port, flood
/// broadcast, multicast and unknown destinations to every other attached port, never back out the ingress port.
/// </summary>
internal sealed class NetworkSwitch : IDisposable
{
    /// <summary>Destination and source MAC addresses: what must be read before a frame can be switched.</summary>
    private const int AddressBytes = 12;

    /// <summary>An Ethernet header: destination, source, type.</summary>
    private const int EthernetHeader = 14;

    private SwitchPort[] _ports = [];

    public NetworkSwitch(SwitchSettings settings, Func<long>? clockMs = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        Table = new MacTable(settings.MacTableSize, settings.AgeingTime, clockMs);
    }

    public SwitchSettings Settings { get; }

    public string Name => Settings.Name;

    public MacTable Table { get; }

    public IReadOnlyList<SwitchPort> Ports => Volatile.Read(ref _ports);

    /// <summary>
    /// A new port, named <paramref name="name"/> (made unique within the switch). Ports are added while the
    /// configuration is read, before any frame flows; the array is replaced, never changed, so a forwarding thread
    /// that holds the old one is still right.
    /// </summary>
    public SwitchPort AddPort(string name)
    {
        SwitchPort[] ports = Volatile.Read(ref _ports);
        string unique = ports.Any(p => p.Name == name) ? $"{name}-{ports.Length + 1}" : name;
        var port = new SwitchPort(this, ports.Length, unique, Settings.PortQueue);
        Volatile.Write(ref _ports, [.. ports, port]);
        return port;
    }

    /// <summary>Switches one frame from <paramref name="ingress"/>; every outcome is counted on some port.</summary>
    public void Forward<TFrame>(SwitchPort ingress, in TFrame frame)
        where TFrame : struct, IFrameSource
    {
        int length = frame.Length;
        int header = frame.HeaderSize;
        if (length < header + EthernetHeader)
        {
            ingress.Counters.Drop(SwitchDropReason.Runt);
            return;
        }
        if (length > NetProtocol.MaxFrame)
        {
            ingress.Counters.Drop(SwitchDropReason.Oversize);
            return;
        }
        Span<byte> addresses = stackalloc byte[AddressBytes];
        frame.CopyTo(header, addresses);
        ulong destination = MacTable.Key(addresses);
        ulong source = MacTable.Key(addresses[6..]);
        ingress.Counters.Received(length - header);

        int target = Table.LearnAndLookup(source, ingress.Index, destination);
        SwitchPort[] ports = Volatile.Read(ref _ports);
        if (target == ingress.Index)
        {
            ingress.Counters.Drop(SwitchDropReason.SamePort);
            return;
        }
        if (target >= 0 && target < ports.Length && ports[target].IsAttached)
        {
            Deliver(ports[target], in frame);
            return;
        }
        ingress.Counters.Flooded();
        foreach (SwitchPort port in ports)
        {
            if (port != ingress && port.IsAttached)
            {
                Deliver(port, in frame);
            }
        }
    }

    public void Dispose()
    {
        foreach (SwitchPort port in Volatile.Read(ref _ports))
        {
            port.Dispose();
        }
    }

    /// <summary>The one copy on the sending side: guest memory (or the tap's buffer) into the port's queue.</summary>
    private static void Deliver<TFrame>(SwitchPort port, in TFrame frame)
        where TFrame : struct, IFrameSource
    {
        if (!port.Inbound.TryClaim(frame.Length, out FrameSlot slot))
        {
            port.Counters.Drop(SwitchDropReason.QueueFull);
            return;
        }
        frame.CopyTo(0, slot.Frame);
        slot.HeaderSize = frame.HeaderSize;
        port.Inbound.Publish(slot);
    }
}
