using Akka.Actor;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// Every configured switch of one launcher: turns a device that names a switch into a port device, then starts
/// one switch actor per segment. The switches outlive their actors and are disposed by whoever made the board,
/// after every queue thread that could touch a port's doorbell has stopped.
/// </summary>
internal sealed class SwitchBoard : IDisposable
{
    private readonly Dictionary<string, NetworkSwitch> _switches;

    public SwitchBoard(IReadOnlyList<SwitchSettings> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _switches = settings.ToDictionary(s => s.Name, s => new NetworkSwitch(s), StringComparer.Ordinal);
    }

    public IReadOnlyCollection<NetworkSwitch> Switches => _switches.Values;

    /// <summary>A port device for <paramref name="device"/> when it names a switch; null for any other device.</summary>
    public VirtioDevice? TryCreatePort(DeviceSettings device)
    {
        if (device is not SwitchPortSettings port)
        {
            return null;
        }
        NetworkSwitch network = _switches.TryGetValue(port.Switch, out NetworkSwitch? found)
            ? found
            : throw new ConfigurationException("devices.switch", $"no switch named '{port.Switch}'");
        string name = string.IsNullOrEmpty(device.Socket) ? $"port{network.Ports.Count + 1}" : Path.GetFileName(device.Socket);
        byte[]? mac = port.Mac is null ? null : NetProtocol.ParseMac(port.Mac);
        return new SwitchPortDevice(network.AddPort(name), mac);
    }

    /// <summary>One switch actor per segment, children of <paramref name="context"/>'s actor, once every port exists.</summary>
    public void Start(IUntypedActorContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (NetworkSwitch network in _switches.Values)
        {
            context.ActorOf(SwitchActor.Props(network), $"switch-{network.Name}");
        }
    }

    public void Dispose()
    {
        foreach (NetworkSwitch network in _switches.Values)
        {
            network.Dispose();
        }
    }
}
