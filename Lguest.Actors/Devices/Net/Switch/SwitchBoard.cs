using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// Every configured switch of one launcher: turns a device that names a switch into a port device, then starts
/// one switch actor per segment. The switches outlive their actors and are disposed by whoever made the board,
/// after every queue thread that could touch a port's doorbell has stopped.
/// </summary>
internal sealed class SwitchBoard : IDisposable
{
    private readonly Dictionary<string, NetworkSwitch> _switches;
    private readonly Dictionary<string, (SwitchPort Port, TapInterface Tap)> _uplinks = new(StringComparer.Ordinal);

    public SwitchBoard(IReadOnlyList<SwitchSettings> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _switches = settings.ToDictionary(s => s.Name, s => new NetworkSwitch(s), StringComparer.Ordinal);
    }

    public IReadOnlyCollection<NetworkSwitch> Switches => _switches.Values;

    /// <summary>
    /// Opens each configured uplink's tap (the only host resource a switch has, and the only part that needs
    /// CAP_NET_ADMIN) and makes it a port, before any guest connects.
    /// </summary>
    /// <exception cref="HostDeviceException">A tap that cannot be had; the taps already open are closed by <see cref="Dispose"/>.</exception>
    public void OpenUplinks()
    {
        foreach (NetworkSwitch network in _switches.Values)
        {
            if (network.Settings.Uplink is not { } uplink)
            {
                continue;
            }
            var tap = TapInterface.Open(new NetSettings(uplink.Address, uplink.Bridge, Mac: null, uplink.TapName) { PrefixLength = uplink.PrefixLength });
            try
            {
                Native.Interop.Tap.SetVnetHeaderSize(tap.Descriptor, NetProtocol.ModernHeaderSize);
            }
            catch (Native.Interop.SystemCallException e)
            {
                tap.Descriptor.Dispose();
                throw new HostDeviceException($"switch {network.Name}: setting up the uplink tap failed: {e.Message}", e);
            }
            _uplinks[network.Name] = (network.AddPort("uplink"), tap);
        }
    }

    /// <summary>"tun lan0up0: 10.0.3.1/24" for each uplink, for the start-up log.</summary>
    public IEnumerable<string> DescribeUplinks() => _uplinks.Select(u => $"switch {u.Key}: uplink {u.Value.Tap.Description}");

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
            (SwitchPort Port, TapInterface Tap)? uplink = _uplinks.TryGetValue(network.Name, out var found) ? found : null;
            context.ActorOf(SwitchActor.Props(network, uplink is { } u ? (u.Port, u.Tap.Descriptor) : null), $"switch-{network.Name}");
        }
    }

    public void Dispose()
    {
        foreach ((_, TapInterface tap) in _uplinks.Values)
        {
            tap.Descriptor.Dispose();
        }
        foreach (NetworkSwitch network in _switches.Values)
        {
            network.Dispose();
        }
    }
}
