using System.Net;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Net;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Devices.Net;

/// <summary>Runs only as root with /dev/net/tun: these create real interfaces (deleted when the tap closes).</summary>
public sealed class TapFactAttribute : FactAttribute
{
    public TapFactAttribute()
    {
        if (!File.Exists(Tap.ControlDevice))
        {
            Skip = $"{Tap.ControlDevice} is missing";
        }
        else if (Environment.UserName != "root")
        {
            Skip = "creating a tap needs root (CAP_NET_ADMIN)";
        }
    }
}

public sealed class TapTests
{
    [TapFact]
    public void A_routed_tap_is_created_addressed_described_and_removed()
    {
        string pattern = $"lgt{Environment.ProcessId % 10000}x%d";
        var address = new IPAddress([198, 18, (byte)Random.Shared.Next(256), 1]);
        string name;
        using (var device = new NetDevice(new NetSettings(address.ToString(), null, "52:54:00:12:34:56", pattern)))
        {
            string description = device.Describe();
            Assert.StartsWith($"tun lgt{Environment.ProcessId % 10000}x", description, StringComparison.Ordinal);
            Assert.EndsWith($": {address}/24", description, StringComparison.Ordinal);
            name = description["tun ".Length..description.IndexOf(':', StringComparison.Ordinal)];
            Assert.NotEqual(0u, NetworkInterfaces.IndexOf(name));
        }
        Assert.Equal(0u, NetworkInterfaces.IndexOf(name));
    }

    [TapFact]
    public void A_missing_bridge_is_named()
    {
        string bridge = $"lgnobr{Environment.ProcessId % 10000}";
        var e = Assert.Throws<HostDeviceException>(() => new NetDevice(new NetSettings(null, bridge, null, "lgt%d")));

        Assert.Equal($"net: bridge {bridge} does not exist", e.Message);
    }
}
