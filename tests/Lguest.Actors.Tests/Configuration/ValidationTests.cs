using Akka.Configuration;
using Lguest.Actors.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Actors.Tests.Configuration;

public sealed class ValidationTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public ValidationTests(ConfigFixture fixture) => _fixture = fixture;

    [Fact]
    public void Unknown_engine_lists_the_choices()
    {
        var e = _fixture.Fails("engine = kvm", "lguest.engine");
        Assert.Equal("lguest.engine: expected auto, lguest, qemu, simulated, vhost-user or lguest-model, got 'kvm'", e.Message);
    }

    [Theory]
    [InlineData("12Q", "not a size: 12Q")]
    [InlineData("M", "not a size: M")]
    [InlineData("-64M", "not a size: -64M")]
    [InlineData("99999999999999999999G", "not a size: 99999999999999999999G")]
    [InlineData("1536K", "must be a whole number of MiB, got 1536K")]
    [InlineData("1M", "must be at least 2M, got 1M")]
    [InlineData("4G", "must be below 4G (lguest guests are 32-bit), got 4G")]
    [InlineData("8192M", "must be below 4G (lguest guests are 32-bit), got 8192M")]
    public void Bad_memory_is_named(string memory, string problem)
    {
        var e = _fixture.Fails($"memory = {memory}", "lguest.memory");
        Assert.Equal($"lguest.memory: {problem}", e.Message);
    }

    [Fact]
    public void Missing_kernel_is_named()
    {
        var e = Assert.Throws<ConfigurationException>(() => LauncherSettingsReader.Read(ConfigurationFactory.ParseString("lguest.memory = 64M")));
        Assert.Equal("lguest.kernel", e.Key);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernel_must_be_an_existing_file()
    {
        string missing = Path.Combine(_fixture.Directory, "no-such-vmlinux");
        var notFound = _fixture.Fails($"kernel = {HoconText.Quote(missing)}", "lguest.kernel");
        Assert.Equal($"lguest.kernel: file not found: {missing}", notFound.Message);

        var directory = _fixture.Fails($"kernel = {HoconText.Quote(_fixture.Directory)}", "lguest.kernel");
        Assert.Equal($"lguest.kernel: not a file: {_fixture.Directory}", directory.Message);
    }

    [Fact]
    public void Initrd_and_chroot_must_exist()
    {
        _fixture.Fails("initrd = /no/such/initrd", "lguest.initrd");
        var e = _fixture.Fails("chroot = /no/such/dir", "lguest.chroot");
        Assert.Equal("lguest.chroot: directory not found: /no/such/dir", e.Message);
    }

    [Fact]
    public void Unknown_user_is_rejected_while_reading()
    {
        var e = _fixture.Fails("user = no-such-user-lguest", "lguest.user");
        Assert.Equal("lguest.user: no such user: no-such-user-lguest", e.Message);
    }

    [Fact]
    public void Guest_error_policy_lists_the_choices()
    {
        var e = _fixture.Fails("supervision.guest-errors = ignore", "lguest.supervision.guest-errors");
        Assert.Equal("lguest.supervision.guest-errors: expected kill-launcher or restart-device, got 'ignore'", e.Message);
    }

    [Theory]
    [InlineData("supervision.max-restarts = -1", "lguest.supervision.max-restarts")]
    [InlineData("supervision.max-restarts = lots", "lguest.supervision.max-restarts")]
    [InlineData("supervision.restart-window = 0s", "lguest.supervision.restart-window")]
    [InlineData("supervision.restart-window = soon", "lguest.supervision.restart-window")]
    [InlineData("simulated.interrupt-timeout = -5s", "lguest.simulated.interrupt-timeout")]
    [InlineData("verbose = maybe", "lguest.verbose")]
    [InlineData("console = [1]", "lguest.console")]
    [InlineData("lguest-device = \"\"", "lguest.lguest-device")]
    [InlineData("devices = rng", "lguest.devices")]
    [InlineData("supervision = off", "lguest.supervision")]
    public void Bad_scalars_are_named(string body, string key) => _fixture.Fails(body, key);

    [Theory]
    [InlineData("memroy = 1G", "lguest.memroy")]
    [InlineData("supervision.max-restart = 1", "lguest.supervision.max-restart")]
    [InlineData("simulated { echo = x }", "lguest.simulated.echo")]
    [InlineData("device-defaults.rng.max-bytes = 1", "lguest.device-defaults.rng.max-bytes")]
    public void Unknown_keys_are_rejected_by_name(string body, string key)
    {
        var e = _fixture.Fails(body, key);
        Assert.Contains("unknown key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_in_a_fallback_layer_are_found_too()
    {
        Config config = ConfigurationFactory.ParseString("lguest.verbose = on").WithFallback(_fixture.Lguest("colour = blue"));
        var e = Assert.Throws<ConfigurationException>(() => LauncherSettingsReader.Read(config));
        Assert.Equal("lguest.colour", e.Key);
    }

    [Fact]
    public void Keys_outside_lguest_are_not_ours_to_judge() =>
        Assert.Equal(EngineKind.Auto, LauncherSettingsReader.Read(_fixture.Lguest().WithFallback(ConfigurationFactory.ParseString("akka.whatever = 1"))).Engine);

    [Fact]
    public void Block_device_file_must_exist()
    {
        string secondDisk = HoconText.Quote(_fixture.Disk);
        var e = _fixture.Fails($"devices = [ {{ type = block, path = {secondDisk} }}, {{ type = block, path = \"/x.img\" }} ]", "lguest.devices[1].path");
        Assert.Equal("lguest.devices[1].path: file not found: /x.img", e.Message);

        _fixture.Fails("devices = [ { type = block } ]", "lguest.devices[0].path");
        _fixture.Fails($"devices = [ {{ type = block, path = {secondDisk}, read-only = sometimes }} ]", "lguest.devices[0].read-only");
    }

    [Fact]
    public void Device_type_must_be_known()
    {
        var e = _fixture.Fails("devices = [ { type = gpu } ]", "lguest.devices[0].type");
        Assert.Equal("lguest.devices[0].type: unknown device type 'gpu' (expected block, rng or net)", e.Message);

        _fixture.Fails("devices = [ { path = x } ]", "lguest.devices[0].type");
        _fixture.Fails("devices = [ rng ]", "lguest.devices[0]");
    }

    [Fact]
    public void Device_keys_must_belong_to_the_type()
    {
        var e = _fixture.Fails("devices = [ { type = rng, path = \"/dev/random\" } ]", "lguest.devices[0].path");
        Assert.Contains("unknown key for an rng device", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-4")]
    public void Rng_request_size_must_be_positive(string size)
    {
        var e = _fixture.Fails($"devices = [ {{ type = rng, max-bytes-per-request = {size} }} ]", "lguest.devices[0].max-bytes-per-request");
        Assert.Equal($"lguest.devices[0].max-bytes-per-request: must be greater than 0, got {size}", e.Message);
    }

    [Fact]
    public void Rng_source_must_exist() =>
        _fixture.Fails("devices = [ { type = rng, source = \"/dev/no-such-entropy\" } ]", "lguest.devices[0].source");

    [Theory]
    [InlineData("{ type = net }")]
    [InlineData("{ type = net, address = \"10.0.0.1\", bridge = br0 }")]
    public void Net_needs_exactly_one_of_address_and_bridge(string device)
    {
        var e = _fixture.Fails($"devices = [ {device} ]", "lguest.devices[0]");
        Assert.Contains("exactly one of address", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0")]
    [InlineData("10.0.0.256")]
    [InlineData("10.0.0.1.5")]
    [InlineData("ten.0.0.1")]
    [InlineData("10..0.1")]
    public void Net_address_must_be_IPv4(string address)
    {
        var e = _fixture.Fails($"devices = [ {{ type = net, address = \"{address}\" }} ]", "lguest.devices[0].address");
        Assert.Equal($"lguest.devices[0].address: not an IPv4 address: {address}", e.Message);
    }

    [Theory]
    [InlineData("aa:bb:cc:dd:ee")]
    [InlineData("aa:bb:cc:dd:ee:ff:00")]
    [InlineData("aa:bb:cc:dd:ee:fg")]
    [InlineData("a:bb:cc:dd:ee:ff")]
    [InlineData("aa-bb-cc-dd-ee-ff")]
    public void Net_mac_must_be_six_hex_pairs(string mac)
    {
        var e = _fixture.Fails($"devices = [ {{ type = net, bridge = br0, mac = \"{mac}\" }} ]", "lguest.devices[0].mac");
        Assert.Equal($"lguest.devices[0].mac: not a MAC address (aa:bb:cc:dd:ee:ff): {mac}", e.Message);
    }

    [Theory]
    [InlineData("bridge = \"a/b\"", "lguest.devices[0].bridge")]
    [InlineData("bridge = \"much-too-long-bridge\"", "lguest.devices[0].bridge")]
    [InlineData("address = \"10.0.0.1\", tap = \"\"", "lguest.devices[0].tap")]
    public void Net_interface_names_must_be_valid(string keys, string key) =>
        _fixture.Fails($"devices = [ {{ type = net, {keys} }} ]", key);
}
