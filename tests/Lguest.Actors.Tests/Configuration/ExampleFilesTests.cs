using Akka.Configuration;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>Changes the working directory, so nothing else may run alongside it.</summary>
[CollectionDefinition(nameof(WorkingDirectoryCollection), DisableParallelization = true)]
public sealed class WorkingDirectoryCollection;

/// <summary>The documented examples in hocon/ must stay valid, and seed-equivalent.hocon must mean what it says.</summary>
[Collection(nameof(WorkingDirectoryCollection))]
public sealed class ExampleFilesTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public ExampleFilesTests(ConfigFixture fixture) => _fixture = fixture;

    [Fact]
    public void Guest_example_is_a_real_guest_under_qemu_on_our_disk_and_rng()
    {
        LauncherSettings settings = InFixtureDirectory(() => LauncherSettingsReader.Read(Example("guest.hocon")));

        Assert.Equal(EngineKind.Qemu, settings.Engine);
        Assert.Equal(256UL << 20, settings.MemoryBytes);
        Assert.Equal("/vmlinuz", settings.Kernel);
        Assert.Null(settings.Initrd); // the launcher's own initramfs
        Assert.Equal(QemuAccelerator.Auto, settings.Qemu.Accelerator);
        Assert.Equal(
            [new BlockSettings("disk.img", ReadOnly: false) { Size = 1L << 30 }, new RngSettings("/dev/urandom", 65536), new ConsoleSettings()],
            settings.Devices);
    }

    [Fact]
    public void Simulated_example_reads_as_documented()
    {
        LauncherSettings settings = InFixtureDirectory(() => LauncherSettingsReader.Read(Example("simulated.hocon")));

        Assert.Equal(EngineKind.Simulated, settings.Engine);
        Assert.Equal(64UL << 20, settings.MemoryBytes);
        Assert.Equal("/vmlinuz", settings.Kernel); // linux-image-cloud-amd64, installed by scripts/install-deps.sh
        Assert.Equal(
            [new BlockSettings("disk.img", ReadOnly: false), new RngSettings("/dev/urandom", 65536), new ConsoleSettings()],
            settings.Devices);
    }

    [Fact]
    public void Seed_equivalent_example_matches_the_seed_command_line()
    {
        (LauncherSettings fromFile, LauncherSettings fromArgs) = InFixtureDirectory(() => (
            LauncherSettingsReader.Read(Example("seed-equivalent.hocon")),
            LauncherSettingsReader.FromSeedArguments(["--block=disk.img", "--rng", "64", "vmlinux", "root=/dev/vda"])));

        Assert.Equal(fromArgs.Devices, fromFile.Devices);
        Assert.Equal(fromArgs with { Devices = [] }, fromFile with { Devices = [] });
        Assert.Equal("root=/dev/vda", fromFile.CommandLine);
        Assert.Equal(3, fromFile.Devices.Count);
    }

    [Fact]
    public void Vhost_user_example_serves_three_devices_on_their_sockets()
    {
        LauncherSettings settings = InFixtureDirectory(() => LauncherSettingsReader.Read(Example("vhost-user.hocon")));

        Assert.Equal(EngineKind.VhostUser, settings.Engine);
        Assert.Equal(GuestErrorPolicy.RestartDevice, settings.Supervision.GuestErrors);
        Assert.Equal(["blk.sock", "rng.sock", "net.sock"], settings.Devices.Select(d => d.Socket));
        Assert.Equal(
            [
                new BlockSettings("disk.img", ReadOnly: false) { Socket = "blk.sock", Size = 64L << 20 },
                new RngSettings("/dev/urandom", 65536) { Socket = "rng.sock" },
                new NetSettings("10.0.2.1", null, null, "tap%d") { Socket = "net.sock", PrefixLength = 24, GuestAddress = "10.0.2.2" },
            ],
            settings.Devices);
    }

    [Fact]
    public void Vhost_user_noroot_example_serves_a_disk_and_an_rng_and_no_tap()
    {
        LauncherSettings settings = InFixtureDirectory(() => LauncherSettingsReader.Read(Example("vhost-user-noroot.hocon")));

        Assert.Equal(EngineKind.VhostUser, settings.Engine);
        Assert.Equal(
            [
                new BlockSettings("disk.img", ReadOnly: false) { Socket = "blk.sock", Size = 64L << 20 },
                new RngSettings("/dev/urandom", 65536) { Socket = "rng.sock" },
            ],
            settings.Devices);
    }

    [Fact]
    public void The_vhost_user_examples_give_QEMU_the_line_that_boots_under_TCG()
    {
        foreach (string name in (string[])["vhost-user.hocon", "vhost-user-noroot.hocon"])
        {
            string text = File.ReadAllText(ExamplePath(name));
            Assert.Contains("-accel tcg", text, StringComparison.Ordinal);
            Assert.Contains("-initrd initramfs.cpio.gz", text, StringComparison.Ordinal);
            Assert.Contains("console=ttyS0", text, StringComparison.Ordinal);
            Assert.DoesNotContain("-accel kvm", text, StringComparison.Ordinal);
        }
        Assert.Contains("virtio-net-pci,netdev=n0,romfile=,vectors=0", File.ReadAllText(ExamplePath("vhost-user.hocon")), StringComparison.Ordinal);
        Assert.DoesNotContain("netdev", File.ReadAllText(ExamplePath("vhost-user-noroot.hocon")), StringComparison.Ordinal);
    }

    private static Config Example(string name) => ConfigurationFactory.ParseString(File.ReadAllText(ExamplePath(name)));

    private static string ExamplePath(string name)
    {
        DirectoryInfo? directory = new(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Lguest.sln")))
        {
            directory = directory.Parent;
        }
        Assert.NotNull(directory);
        return Path.Combine(directory.FullName, "hocon", name);
    }

    private T InFixtureDirectory<T>(Func<T> read)
    {
        string previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = _fixture.Directory;
        try
        {
            return read();
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }
}
