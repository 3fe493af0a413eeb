using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.Qemu;
using Lguest.Native.Interop;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Actors.Tests.Engines.Qemu;

/// <summary>
/// A qemu guest's NIC on someone else's vhost-user back end (a switch port): the key that asks for it, what is
/// refused with it, the check that the back end is listening, and the QEMU arguments it becomes.
/// </summary>
public sealed class QemuExternalNetTests : IDisposable
{
    private static readonly QemuSockets Sockets = new("/run/x/console.sock", "/run/x/serial.sock", "/run/x/qmp.sock");

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-external-net-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_net_device_on_a_vhost_user_socket_needs_no_tap_and_carries_its_guest_address_and_mac()
    {
        NetSettings net = ReadNet("""vhost-user-socket = "/run/lan0-a.sock", guest-address = "10.9.0.2", prefix-length = 24, mac = "52:54:00:00:00:0a" """);

        Assert.Equal("/run/lan0-a.sock", net.VhostUserSocket);
        Assert.Null(net.Address);
        Assert.Null(net.Bridge);
        Assert.Equal("52:54:00:00:00:0a", net.Mac);
        Assert.Equal("10.9.0.2/24", QemuGuestNetwork.GuestAddress(net));
    }

    [Fact]
    public void Without_a_guest_address_the_guest_gets_no_lguest_ip()
    {
        NetSettings net = ReadNet("""vhost-user-socket = "/run/lan0-a.sock" """);

        Assert.Null(QemuGuestNetwork.GuestAddress(net));
        Assert.DoesNotContain("lguest.ip", QemuCommandLine.KernelCommandLine(Settings(net), interactive: false), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""address = "10.0.0.1" """, "address")]
    [InlineData("""bridge = "br0" """, "bridge")]
    [InlineData("""guest-address = "10.9.0.0" """, "guest-address")]
    [InlineData("""guest-address = "ten" """, "guest-address")]
    [InlineData("""mac = "52:54" """, "mac")]
    public void Tap_keys_and_bad_values_beside_a_vhost_user_socket_are_named(string extra, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => ReadNet($"""vhost-user-socket = "/run/a.sock", {extra}"""));

        Assert.Equal($"lguest.devices[0].{key}", e.Key);
    }

    [Fact]
    public void A_missing_socket_is_a_configuration_error_naming_the_key_and_the_path()
    {
        string missing = Path.Combine(_directory, "lan0-a.sock");

        var e = Assert.Throws<ConfigurationException>(() => QemuPreflight.Check(Settings(External(missing))));

        Assert.Equal("lguest.devices[0].vhost-user-socket", e.Key);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_socket_is_refused()
    {
        string file = Path.Combine(_directory, "not-a-socket");
        File.WriteAllText(file, "");

        var e = Assert.Throws<ConfigurationException>(() => QemuPreflight.Check(Settings(External(file))));

        Assert.Equal("lguest.devices[0].vhost-user-socket", e.Key);
        Assert.Contains("is not a socket", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_qemu_engine_takes_a_vhost_user_socket()
    {
        string socket = Path.Combine(_directory, "port.sock");
        using FileDescriptor listener = UnixSocket.Listen(socket);

        var e = Assert.Throws<ConfigurationException>(() =>
            QemuPreflight.Check(Settings(External(socket)) with { Engine = EngineKind.Simulated }));

        Assert.Equal("lguest.devices[0].vhost-user-socket", e.Key);
        Assert.Contains("only the qemu engine", e.Message, StringComparison.Ordinal);
        Assert.True(UnixSocket.IsSocket(socket));
    }

    [Fact]
    public void QEMU_connects_the_NIC_to_the_external_socket_with_vectors_0_under_TCG_and_a_MAC_per_port()
    {
        NetSettings a = External("/run/lan0-a.sock");
        NetSettings b = External("/run/lan0-b.sock");

        string nicA = Nic(QemuCommandLine.Build(Settings(a), new QemuAcceleratorChoice(false, "test"), Sockets,
            [new QemuDevice(a, "/run/lan0-a.sock", External: true)], interactive: false), out string chardevA);
        string nicB = Nic(QemuCommandLine.Build(Settings(b), new QemuAcceleratorChoice(false, "test"), Sockets,
            [new QemuDevice(b, "/run/lan0-b.sock", External: true)], interactive: false), out _);
        string again = Nic(QemuCommandLine.Build(Settings(a), new QemuAcceleratorChoice(false, "test"), Sockets,
            [new QemuDevice(a, "/run/lan0-a.sock", External: true)], interactive: false), out _);

        Assert.Equal("socket,id=dev0,path=/run/lan0-a.sock", chardevA);
        Assert.StartsWith("virtio-net-pci,netdev=net0,romfile=,mac=", nicA, StringComparison.Ordinal);
        Assert.EndsWith(",vectors=0", nicA, StringComparison.Ordinal);
        Assert.NotEqual(MacOf(nicA), MacOf(nicB));
        Assert.Equal(MacOf(nicA), MacOf(again));
        // Locally administered and unicast, so it can never be a vendor's address or a multicast group.
        Assert.Equal(0x02, Convert.ToByte(MacOf(nicA)[..2], 16) & 0x03);
        Assert.True(NetworkAddresses.IsMac(MacOf(nicA)));
    }

    [Fact]
    public void A_configured_MAC_wins_over_the_derived_one()
    {
        NetSettings a = External("/run/lan0-a.sock") with { Mac = "52:54:00:00:00:0a" };

        string nic = Nic(QemuCommandLine.Build(Settings(a), new QemuAcceleratorChoice(true, "test"), Sockets,
            [new QemuDevice(a, "/run/lan0-a.sock", External: true)], interactive: false), out _);

        Assert.Equal("virtio-net-pci,netdev=net0,romfile=,mac=52:54:00:00:00:0a", nic);
    }

    private static NetSettings External(string socket) => new(null, null, null, "tap%d") { VhostUserSocket = socket };

    private static string MacOf(string nic) => nic.Split(',').Single(p => p.StartsWith("mac=", StringComparison.Ordinal))[4..];

    private static string Nic(IReadOnlyList<string> args, out string chardev)
    {
        var list = args.ToList();
        Assert.Equal("vhost-user,id=net0,chardev=dev0", list[list.IndexOf("-netdev") + 1]);
        chardev = list.Where((_, i) => i > 0 && list[i - 1] == "-chardev").Single(a => a.Contains("id=dev0", StringComparison.Ordinal));
        return list[list.FindIndex(a => a.StartsWith("virtio-net-pci", StringComparison.Ordinal))];
    }

    private static LauncherSettings Settings(params DeviceSettings[] devices) => new(
        EngineKind.Qemu, 256UL << 20, "/vmlinuz", "/tmp/initrd.gz", "", Verbose: false, Chroot: null, User: null,
        "/dev/lguest", new SupervisionSettings(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromMinutes(1)),
        [.. devices, new ConsoleSettings()], new SimulatedSettings(TimeSpan.FromSeconds(5), ""));

    private static NetSettings ReadNet(string keys)
    {
        LauncherSettings settings = LauncherSettingsReader.Read(ConfigurationFactory.ParseString($$"""
            lguest {
              engine = vhost-user
              devices = [ { type = net, socket = "/tmp/unused.sock", {{keys}} } ]
            }
            """));
        return Assert.IsType<NetSettings>(settings.Devices[0]);
    }
}
