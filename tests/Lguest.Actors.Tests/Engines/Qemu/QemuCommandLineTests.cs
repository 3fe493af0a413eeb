using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.Actors.Engines.Qemu;

namespace Lguest.Actors.Tests.Engines.Qemu;

/// <summary>The QEMU command line the qemu engine builds: what QEMU 7.2 needs, and what our devices need from it.</summary>
public sealed class QemuCommandLineTests
{
    private static readonly QemuSockets Sockets = new("/run/x/console.sock", "/run/x/serial.sock", "/run/x/qmp.sock");

    private static LauncherSettings Settings(string commandLine = "", params DeviceSettings[] devices) => new(
        EngineKind.Qemu, 256UL << 20, "/vmlinuz", "/tmp/initrd.gz", commandLine, Verbose: false, Chroot: null, User: null,
        "/dev/lguest", new SupervisionSettings(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromMinutes(1)),
        [new ConsoleSettings(), .. devices], new SimulatedSettings(TimeSpan.FromSeconds(5), ""));

    [Fact]
    public void QEMU_gets_nothing_of_its_own_shared_memfd_memory_and_every_ending_as_an_event()
    {
        IReadOnlyList<string> args = QemuCommandLine.Build(Settings(), new QemuAcceleratorChoice(false, "test"), Sockets, [], interactive: true);

        Assert.Equal(["-nodefaults", "-no-user-config", "-display", "none", "-accel", "tcg"], args.Take(6));
        Assert.Contains("memory-backend-memfd,id=mem,size=256M,share=on", args);
        Assert.Contains("pc,memory-backend=mem", args);
        Assert.Contains("reboot=shutdown,shutdown=poweroff,panic=pause", args);
        Assert.Contains("pvpanic-pci", args);
        Assert.Contains("-S", args);
        Assert.Contains("virtconsole,chardev=con", args);
        Assert.Contains("socket,id=con,path=/run/x/console.sock", args);
        Assert.Contains("chardev:serial", args);
        Assert.Equal("/tmp/initrd.gz", args[args.ToList().IndexOf("-initrd") + 1]);
    }

    [Fact]
    public void Devices_are_vhost_user_with_vectors_0_on_net_under_TCG_and_no_reconnect_on_rng()
    {
        DeviceSettings[] devices =
        [
            new BlockSettings("disk.img", ReadOnly: false), new RngSettings("/dev/urandom", 4096),
            new NetSettings("10.0.2.1", null, "52:54:00:12:34:56", "tap%d") { GuestAddress = "10.0.2.2", PrefixLength = 24 },
        ];
        QemuDevice[] attached = [.. devices.Select((d, i) => new QemuDevice(d, $"/run/x/{i}.sock"))];

        IReadOnlyList<string> tcg = QemuCommandLine.Build(Settings("", devices), new QemuAcceleratorChoice(false, "test"), Sockets, attached, true);
        IReadOnlyList<string> kvm = QemuCommandLine.Build(Settings("", devices), new QemuAcceleratorChoice(true, "test"), Sockets, attached, true);

        Assert.Contains("vhost-user-blk-pci,chardev=dev0,num-queues=1", tcg);
        Assert.Contains("vhost-user-rng-pci,chardev=dev1", tcg);
        Assert.DoesNotContain(tcg, a => a.Contains("reconnect", StringComparison.Ordinal));
        Assert.Contains("virtio-net-pci,netdev=net2,romfile=,mac=52:54:00:12:34:56,vectors=0", tcg);
        Assert.Contains("virtio-net-pci,netdev=net2,romfile=,mac=52:54:00:12:34:56", kvm);
        Assert.Equal("kvm", kvm[kvm.ToList().IndexOf("-accel") + 1]);
    }

    [Fact]
    public void The_kernel_hears_ttyS0_first_and_hvc0_last_then_the_init_words_then_the_users()
    {
        var net = new NetSettings("10.0.2.1", null, null, "tap%d") { GuestAddress = "10.0.2.2", PrefixLength = 24 };

        Assert.Equal("console=ttyS0 console=hvc0 lguest.interactive=0 lguest.ip=10.0.2.2/24 quiet",
            QemuCommandLine.KernelCommandLine(Settings(" quiet ", net), interactive: false));
        Assert.Equal("console=ttyS0 console=hvc0 lguest.interactive=1",
            QemuCommandLine.KernelCommandLine(Settings(), interactive: true));
    }

    [Fact]
    public void Auto_picks_simulated_for_an_ELF_kernel_and_simulated_without_a_QEMU_binary()
    {
        string elf = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(elf, [0x7f, (byte)'E', (byte)'L', (byte)'F', .. new byte[60]]);
            LauncherSettings auto = Settings() with { Engine = EngineKind.Auto, Kernel = elf, LguestDevice = "/no/such/lguest" };

            Assert.Equal(EngineKind.Simulated, EngineSelector.Resolve(auto).Engine);
            Assert.Equal(EngineKind.Simulated,
                EngineSelector.Resolve(auto with { Qemu = auto.Qemu with { Binary = "/no/such/qemu" } }).Engine);
            Assert.Contains("/no/such/qemu was not found",
                EngineSelector.Resolve(auto with { Qemu = auto.Qemu with { Binary = "/no/such/qemu" } }).Reason, StringComparison.Ordinal);
            Assert.Equal(EngineKind.Qemu, EngineSelector.Resolve(Settings()).Engine);
        }
        finally
        {
            File.Delete(elf);
        }
    }

    [Fact]
    public void Chroot_and_user_are_refused_before_anything_starts()
    {
        Assert.Equal("lguest.chroot", Assert.Throws<ConfigurationException>(() => QemuPreflight.Check(Settings() with { Chroot = "/" })).Key);
        Assert.Equal("lguest.user", Assert.Throws<ConfigurationException>(() => QemuPreflight.Check(Settings() with { User = "nobody" })).Key);
    }

    [Fact]
    public void A_configured_accelerator_is_taken_as_given()
    {
        Assert.True(QemuAcceleratorChoice.For(QemuAccelerator.Kvm).Kvm);
        Assert.False(QemuAcceleratorChoice.For(QemuAccelerator.Tcg).Kvm);
    }
}
