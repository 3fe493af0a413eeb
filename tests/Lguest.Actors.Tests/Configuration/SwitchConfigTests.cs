using Akka.Configuration;
using Lguest.Actors.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>lguest.switches and net devices with a switch key: what a user writes, and every mistake named by its key.</summary>
public sealed class SwitchConfigTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public SwitchConfigTests(ConfigFixture fixture) => _fixture = fixture;

    private string Socket(string name) => HoconText.Quote(Path.Combine(_fixture.Directory, name));

    [Fact]
    public void Two_ports_of_one_switch_with_the_defaults()
    {
        LauncherSettings settings = Read($$"""
            lguest {
              engine = vhost-user
              switches = [ { name = lan0 } ]
              devices = [
                { type = net, switch = lan0, socket = {{Socket("a.sock")}} }
                { type = net, switch = lan0, socket = {{Socket("b.sock")}}, mac = "52:54:00:00:00:0b" }
              ]
            }
            """);

        SwitchSettings lan0 = Assert.Single(settings.Switches);
        Assert.Equal(new SwitchSettings("lan0", 4096, TimeSpan.FromSeconds(300), 256), lan0);
        Assert.Null(lan0.Uplink);
        Assert.Equal(new SwitchPortSettings("lan0", null) { Socket = Path.Combine(_fixture.Directory, "a.sock") }, settings.Devices[0]);
        Assert.Equal("52:54:00:00:00:0b", Assert.IsType<SwitchPortSettings>(settings.Devices[1]).Mac);
    }

    [Fact]
    public void A_switch_with_its_own_table_size_ageing_queue_and_a_routed_uplink()
    {
        LauncherSettings settings = Read($$"""
            lguest {
              engine = vhost-user
              switches = [ { name = lan0, mac-table-size = 16, ageing-time = 30s, port-queue = 32,
                             uplink = { tap = "lan0up%d", address = "10.0.3.1", prefix-length = 24 } } ]
              devices = [ { type = net, switch = lan0, socket = {{Socket("a.sock")}} } ]
            }
            """);

        SwitchSettings lan0 = Assert.Single(settings.Switches);
        Assert.Equal(new SwitchSettings("lan0", 16, TimeSpan.FromSeconds(30), 32), lan0 with { Uplink = null });
        Assert.Equal(new UplinkSettings("lan0up%d", "10.0.3.1", 24, null), lan0.Uplink);
    }

    [Fact]
    public void A_bridged_uplink()
    {
        LauncherSettings settings = Read("""
            lguest {
              engine = vhost-user
              switches = [ { name = lan0, uplink = { bridge = br0 } } ]
              devices = [ { type = rng, socket = "r.sock" } ]
            }
            """);

        Assert.Equal(new UplinkSettings("tap%d", null, 24, "br0"), settings.Switches[0].Uplink);
    }

    [Theory]
    [InlineData("switches = [ { name = lan0 } ]", "{ type = net, switch = lan1, socket = S }", "lguest.devices[0].switch", "no switch named 'lan1' (lguest.switches has lan0)")]
    [InlineData("", "{ type = net, switch = lan0, socket = S }", "lguest.devices[0].switch", "no switch named 'lan0' (none is configured in lguest.switches)")]
    [InlineData("switches = [ { name = lan0 }, { name = lan0 } ]", "{ type = rng, socket = S }", "lguest.switches[1].name", "switch 'lan0' is already defined")]
    [InlineData("switches = [ { mac-table-size = 4 } ]", "{ type = rng, socket = S }", "lguest.switches[0].name", "missing")]
    [InlineData("switches = [ { name = \"lan 0\" } ]", "{ type = rng, socket = S }", "lguest.switches[0].name", "not a usable name")]
    [InlineData("switches = [ { name = lan0, colour = red } ]", "{ type = rng, socket = S }", "lguest.switches[0].colour", "unknown key for a switch")]
    [InlineData("switches = [ { name = lan0, mac-table-size = 0 } ]", "{ type = rng, socket = S }", "lguest.switches[0].mac-table-size", "greater than 0")]
    [InlineData("switches = [ { name = lan0, port-queue = 100000 } ]", "{ type = rng, socket = S }", "lguest.switches[0].port-queue", "at most 4096")]
    [InlineData("switches = [ { name = lan0, ageing-time = soon } ]", "{ type = rng, socket = S }", "lguest.switches[0].ageing-time", "not a duration")]
    [InlineData("switches = [ { name = lan0, uplink = { tap = x } } ]", "{ type = rng, socket = S }", "lguest.switches[0].uplink", "exactly one of address")]
    [InlineData("switches = [ { name = lan0, uplink = { address = \"10.0.3.1\", bridge = br0 } } ]", "{ type = rng, socket = S }", "lguest.switches[0].uplink", "exactly one of address")]
    [InlineData("switches = [ { name = lan0, uplink = { address = \"10.0.3.0\" } } ]", "{ type = rng, socket = S }", "lguest.switches[0].uplink.address", "not a host")]
    [InlineData("switches = [ { name = lan0, uplink = { address = \"10.0.3.1\", vlan = 3 } } ]", "{ type = rng, socket = S }", "lguest.switches[0].uplink.vlan", "unknown key for a switch uplink")]
    [InlineData("switches = [ { name = lan0 } ]", "{ type = net, switch = lan0, address = \"10.0.0.1\", socket = S }", "lguest.devices[0].address", "not allowed with switch")]
    [InlineData("switches = [ { name = lan0 } ]", "{ type = net, switch = lan0, tap = \"t%d\", socket = S }", "lguest.devices[0].tap", "not allowed with switch")]
    [InlineData("switches = [ { name = lan0 } ]", "{ type = net, switch = lan0, mac = \"zz\", socket = S }", "lguest.devices[0].mac", "not a MAC address")]
    [InlineData("switches = [ { name = lan0 } ]", "{ type = net, switch = \"\", socket = S }", "lguest.devices[0].switch", "must not be empty")]
    [InlineData("switches = { name = lan0 }", "{ type = rng, socket = S }", "lguest.switches", "expected a list")]
    public void A_mistake_is_named_by_its_key(string switches, string device, string key, string problem)
    {
        var e = Assert.Throws<ConfigurationException>(() => Read($$"""
            lguest {
              engine = vhost-user
              {{switches}}
              devices = [ {{device.Replace("S", Socket("d.sock"), StringComparison.Ordinal)}} ]
            }
            """));
        Assert.Equal(key, e.Key);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_port_needs_the_vhost_user_engine()
    {
        var e = Assert.Throws<ConfigurationException>(() => LauncherSettingsReader.Read(_fixture.Lguest("""
            engine = simulated
            switches = [ { name = lan0 } ]
            devices = [ { type = net, switch = lan0 } ]
            """)));
        Assert.Equal("lguest.devices[0].switch", e.Key);
        Assert.Contains("engine = vhost-user", e.Message, StringComparison.Ordinal);
    }

    private static LauncherSettings Read(string hocon) => LauncherSettingsReader.Read(ConfigurationFactory.ParseString(hocon));
}
