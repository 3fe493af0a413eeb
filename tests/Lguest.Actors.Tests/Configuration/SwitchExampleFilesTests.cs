using Akka.Configuration;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>README's "Two guests on one segment": the switch's ports are the sockets the two guests' NICs name.</summary>
public sealed class SwitchExampleFilesTests
{
    [Fact]
    public void The_guests_NICs_are_the_switchs_two_ports_with_their_own_addresses_and_MACs()
    {
        LauncherSettings network = LauncherSettingsReader.Read(Example("switch.hocon"));
        LauncherSettings a = LauncherSettingsReader.Read(Example("switch-guest-a.hocon"));
        LauncherSettings b = LauncherSettingsReader.Read(Example("switch-guest-b.hocon"));

        Assert.Equal(EngineKind.VhostUser, network.Engine);
        Assert.Equal("lan0", Assert.Single(network.Switches).Name);
        Assert.Null(Assert.Single(network.Switches).Uplink); // the example runs without root
        Assert.Equal(["lan0-a.sock", "lan0-b.sock"], network.Devices.Select(d => d.Socket));

        NetSettings nicA = Assert.IsType<NetSettings>(a.Devices[0]);
        NetSettings nicB = Assert.IsType<NetSettings>(b.Devices[0]);
        Assert.Equal((EngineKind.Qemu, EngineKind.Qemu), (a.Engine, b.Engine));
        Assert.Equal(("lan0-a.sock", "lan0-b.sock"), (nicA.VhostUserSocket, nicB.VhostUserSocket));
        Assert.Equal(("10.0.9.2", "10.0.9.3"), (nicA.GuestAddress, nicB.GuestAddress));
        Assert.NotEqual(nicA.Mac, nicB.Mac);
    }

    private static Config Example(string name)
    {
        DirectoryInfo? directory = new(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Lguest.sln")))
        {
            directory = directory.Parent;
        }
        Assert.NotNull(directory);
        return ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(directory.FullName, "hocon", name)));
    }
}
