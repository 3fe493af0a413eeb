using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Configuration;

public sealed class SeedArgumentsTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public SeedArgumentsTests(ConfigFixture fixture) => _fixture = fixture;

    private LauncherSettings Parse(params string[] args) => LauncherSettingsReader.FromSeedArguments(args);

    private static ConfigurationException UsageError(params string[] args)
    {
        var e = Assert.Throws<ConfigurationException>(() => LauncherSettingsReader.FromSeedArguments(args));
        Assert.Equal("arguments", e.Key);
        return e;
    }

    [Fact]
    public void Memory_kernel_and_kernel_arguments()
    {
        LauncherSettings settings = Parse("64", _fixture.Kernel, "root=/dev/vda", "console=hvc0", "quiet");

        Assert.Equal(64UL << 20, settings.MemoryBytes);
        Assert.Equal(_fixture.Kernel, settings.Kernel);
        Assert.Equal("root=/dev/vda console=hvc0 quiet", settings.CommandLine);
        Assert.Equal([new ConsoleSettings()], settings.Devices);
        Assert.False(settings.Verbose);
        Assert.Equal(EngineKind.Auto, settings.Engine);
    }

    [Fact]
    public void Devices_follow_the_console_in_argument_order()
    {
        LauncherSettings settings = Parse(
            "--rng", $"--block={_fixture.Disk}", "--tunnet=10.0.0.1", "--block", _fixture.Disk, "--rng",
            "32", _fixture.Kernel);

        Assert.Equal(
            [
                new ConsoleSettings(),
                new RngSettings("/dev/random", 65536),
                new BlockSettings(_fixture.Disk, ReadOnly: false),
                new NetSettings("10.0.0.1", null, null, "tap%d") { GuestAddress = "10.0.0.2" },
                new BlockSettings(_fixture.Disk, ReadOnly: false),
                new RngSettings("/dev/random", 65536),
            ],
            settings.Devices);
    }

    [Theory]
    [InlineData("192.168.19.1", "192.168.19.1", null, null, "192.168.19.2")]
    [InlineData("192.168.19.1:02:00:00:00:00:01", "192.168.19.1", null, "02:00:00:00:00:01", "192.168.19.2")]
    [InlineData("bridge:br0", null, "br0", null, null)]
    [InlineData("bridge:lanbr:de:ad:be:ef:00:01", null, "lanbr", "de:ad:be:ef:00:01", null)]
    public void Tunnet_forms(string tunnet, string? address, string? bridge, string? mac, string? guest)
    {
        LauncherSettings settings = Parse($"--tunnet={tunnet}", "64", _fixture.Kernel);
        // The seed's form has no prefix: the default /24 applies.
        Assert.Equal(new NetSettings(address, bridge, mac, "tap%d") { PrefixLength = 24, GuestAddress = guest }, settings.Devices[1]);
    }

    [Fact]
    public void Bad_tunnet_values_fail_through_the_shared_validation()
    {
        var ip = Assert.Throws<ConfigurationException>(() => Parse("--tunnet=10.0.0", "64", _fixture.Kernel));
        Assert.Equal("lguest.devices[0].address", ip.Key);

        // Everything after the first ':' is the MAC, as in the seed: a MAC with a stray suffix is rejected.
        var mac = Assert.Throws<ConfigurationException>(() => Parse("--tunnet=bridge:br0:aa:bb:cc:dd:ee:ff:00", "64", _fixture.Kernel));
        Assert.Equal("lguest.devices[0].mac", mac.Key);

        UsageError("--tunnet=10.0.0.1:", "64", _fixture.Kernel);
    }

    [Fact]
    public void Options_mix_with_positionals_as_getopt_permutes_them()
    {
        LauncherSettings settings = Parse(
            "64", "--verbose", _fixture.Kernel, $"--initrd={_fixture.Initrd}", "--username", "root",
            $"--chroot={_fixture.Directory}", "ro", "--", "--not-an-option", "-v");

        Assert.True(settings.Verbose);
        Assert.Equal(_fixture.Initrd, settings.Initrd);
        Assert.Equal("root", settings.User);
        Assert.Equal(_fixture.Directory, settings.Chroot);
        Assert.Equal("ro --not-an-option -v", settings.CommandLine);
    }

    [Fact]
    public void Short_v_is_verbose() => Assert.True(Parse("-v", "64", _fixture.Kernel).Verbose);

    [Fact]
    public void Arguments_with_quotes_and_backslashes_survive()
    {
        LauncherSettings settings = Parse("64", _fixture.Kernel, "init=/bin/sh", "x=\"a b\\c\"");
        Assert.Equal("init=/bin/sh x=\"a b\\c\"", settings.CommandLine);
    }

    [Fact]
    public void Missing_memory_and_kernel_is_a_usage_error()
    {
        Assert.Equal("arguments: missing MEM_MB and vmlinux", UsageError().Message);
        Assert.Equal("arguments: missing MEM_MB and vmlinux", UsageError("--rng").Message);
        Assert.Equal("arguments: missing vmlinux", UsageError("64").Message);
    }

    [Theory]
    [InlineData("--frobnicate", "64", "vmlinux")]
    [InlineData("-x", "64", "vmlinux")]
    [InlineData("--rng=yes", "64", "vmlinux")]
    [InlineData("64", "vmlinux", "--block")]
    [InlineData("64M", "vmlinux")]
    public void Bad_arguments_are_usage_errors(params string[] args) => UsageError(args);

    [Fact]
    public void Seed_values_are_validated_like_config()
    {
        var memory = Assert.Throws<ConfigurationException>(() => Parse("1", _fixture.Kernel));
        Assert.Equal("lguest.memory", memory.Key);

        var kernel = Assert.Throws<ConfigurationException>(() => Parse("64", "/no/such/vmlinux"));
        Assert.Equal("lguest.kernel: file not found: /no/such/vmlinux", kernel.Message);

        var block = Assert.Throws<ConfigurationException>(() => Parse("--block=/x.img", "64", _fixture.Kernel));
        Assert.Equal("lguest.devices[0].path: file not found: /x.img", block.Message);
    }
}
