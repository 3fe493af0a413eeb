namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>Messages of the switch's actors: attachment told to a port actor, and questions about the segment.</summary>
public static class SwitchProtocol
{
    /// <summary>Told to a port actor: a guest drives the port, with these features negotiated.</summary>
    public sealed record PortAttached(int Port, ulong Features);

    /// <summary>Told to a port actor: the port's guest has gone; its addresses were forgotten and its waiting frames discarded.</summary>
    public sealed record PortDetached(int Port, int AddressesForgotten, int FramesDiscarded);

    /// <summary>Asked of a switch actor: every port's state and counters, and the address table's size.</summary>
    public sealed record GetState
    {
        public static readonly GetState Instance = new();
    }

    /// <summary>Reply to <see cref="GetState"/>.</summary>
    public sealed record SwitchState(string Switch, int Addresses, long AddressesRefused, IReadOnlyList<PortState> Ports)
    {
        public PortState Port(string name) => Ports.FirstOrDefault(p => p.Name == name)
            ?? throw new KeyNotFoundException($"switch {Switch} has no port {name} (ports: {string.Join(", ", Ports.Select(p => p.Name))})");
    }

    /// <summary>One port as its port actor sees it: attached or not, how often, frames waiting for it, and its counters.</summary>
    public sealed record PortState(string Name, bool Attached, int Attachments, int Queued, SwitchPortSnapshot Counters);

    /// <summary>Asked of a port actor.</summary>
    public sealed record GetPortState
    {
        public static readonly GetPortState Instance = new();
    }
}
