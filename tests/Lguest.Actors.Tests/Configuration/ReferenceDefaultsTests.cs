using Akka.Configuration;
using Lguest.Actors.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Actors.Tests.Configuration;

public sealed class ReferenceDefaultsTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public ReferenceDefaultsTests(ConfigFixture fixture) => _fixture = fixture;

    [Fact]
    public void Only_a_kernel_gives_every_documented_default()
    {
        LauncherSettings settings = _fixture.Read();

        Assert.Equal(EngineKind.Auto, settings.Engine);
        Assert.Equal(64UL << 20, settings.MemoryBytes);
        Assert.Equal(_fixture.Kernel, settings.Kernel);
        Assert.Null(settings.Initrd);
        Assert.Equal("", settings.CommandLine);
        Assert.False(settings.Verbose);
        Assert.Null(settings.Chroot);
        Assert.Null(settings.User);
        Assert.Equal("/dev/lguest", settings.LguestDevice);
        Assert.Equal(new SupervisionSettings(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromSeconds(60)), settings.Supervision);
        Assert.Equal([new ConsoleSettings()], settings.Devices);
        Assert.Equal(new SimulatedSettings(TimeSpan.FromSeconds(5), ""), settings.Simulated);
    }

    [Fact]
    public void Device_defaults_fill_in_what_an_entry_leaves_out()
    {
        LauncherSettings settings = _fixture.Read($$"""
            devices = [
              { type = block, path = {{HoconText.Quote(_fixture.Disk)}} }
              { type = rng }
              { type = net, address = "10.0.0.1" }
            ]
            """);

        Assert.Equal(
            [
                new ConsoleSettings(),
                new BlockSettings(_fixture.Disk, ReadOnly: false),
                new RngSettings("/dev/urandom", 65536),
                // prefix-length 24 and the guest at address + 1: the tap never claims all of 10/8.
                new NetSettings("10.0.0.1", null, null, "tap%d") { PrefixLength = 24, GuestAddress = "10.0.0.2" },
            ],
            settings.Devices);
    }

    [Fact]
    public void Every_key_can_be_overridden()
    {
        LauncherSettings settings = _fixture.Read($$"""
            engine = simulated
            memory = 1G
            initrd = {{HoconText.Quote(_fixture.Initrd)}}
            command-line = "root=/dev/vda console=hvc0"
            verbose = on
            chroot = {{HoconText.Quote(_fixture.Directory)}}
            user = root
            lguest-device = "/dev/other"
            supervision { guest-errors = restart-device, max-restarts = 7, restart-window = 2m }
            console = off
            devices = [
              { type = net, bridge = br0, mac = "AA:bb:cc:dd:ee:0f", tap = "guest0", socket = {{HoconText.Quote(Socket("net"))}} }
              { type = block, path = {{HoconText.Quote(_fixture.Disk)}}, read-only = on, socket = {{HoconText.Quote(Socket("blk"))}} }
              { type = rng, source = "/dev/random", max-bytes-per-request = 16, socket = {{HoconText.Quote(Socket("rng"))}} }
            ]
            simulated { interrupt-timeout = 250ms, console-echo = "hello" }
            """);

        Assert.Equal(
            new LauncherSettings(
                EngineKind.Simulated, 1UL << 30, _fixture.Kernel, _fixture.Initrd, "root=/dev/vda console=hvc0", true,
                _fixture.Directory, "root", "/dev/other",
                new SupervisionSettings(GuestErrorPolicy.RestartDevice, 7, TimeSpan.FromMinutes(2)),
                settings.Devices,
                new SimulatedSettings(TimeSpan.FromMilliseconds(250), "hello")),
            settings);
        Assert.Equal(
            [
                new NetSettings(null, "br0", "AA:bb:cc:dd:ee:0f", "guest0") { Socket = Socket("net") },
                new BlockSettings(_fixture.Disk, ReadOnly: true) { Socket = Socket("blk") },
                new RngSettings("/dev/random", 16) { Socket = Socket("rng") },
            ],
            settings.Devices);
    }

    private string Socket(string name) => Path.Combine(_fixture.Directory, $"{name}.sock");

    [Theory]
    [InlineData("2M", 2UL << 20)]
    [InlineData("2048K", 2UL << 20)]
    [InlineData("3G", 3UL << 30)]
    [InlineData("4095M", 4095UL << 20)]
    [InlineData("16m", 16UL << 20)]
    [InlineData("8388608", 8UL << 20)]
    public void Memory_sizes_are_binary(string text, ulong bytes) =>
        Assert.Equal(bytes, _fixture.Read($"memory = {text}").MemoryBytes);

    [Fact]
    public void Reference_is_the_embedded_resource_with_the_pinned_dispatchers()
    {
        Config reference = LauncherSettingsReader.Reference;

        Assert.Equal("auto", reference.GetString("lguest.engine"));
        Assert.Equal("PinnedDispatcher", reference.GetString("akka.actor.lguest-run-loop-dispatcher.type"));
        Assert.Equal("PinnedDispatcher", reference.GetString("akka.actor.lguest-queue-dispatcher.type"));
    }

    [Fact]
    public void The_reference_alone_fails_only_for_the_missing_kernel()
    {
        var e = Assert.Throws<ConfigurationException>(() => LauncherSettingsReader.Read(LauncherSettingsReader.Reference));
        Assert.Equal("lguest.kernel", e.Key);

        var empty = Assert.Throws<ConfigurationException>(() => LauncherSettingsReader.Read(Config.Empty));
        Assert.Equal("lguest.kernel", empty.Key);
    }
}
