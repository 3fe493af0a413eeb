using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>The net device's prefix-length and guest-address, and the block device's size.</summary>
public sealed class DeviceKeysTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public DeviceKeysTests(ConfigFixture fixture) => _fixture = fixture;

    private NetSettings Net(string keys) => Assert.IsType<NetSettings>(_fixture.Read($"devices = [ {{ type = net, {keys} }} ]").Devices[1]);

    private BlockSettings Block(string keys) => Assert.IsType<BlockSettings>(_fixture.Read($"devices = [ {{ type = block, {keys} }} ]").Devices[1]);

    [Theory]
    [InlineData("address = \"10.0.0.1\"", 24, "10.0.0.2")]
    [InlineData("address = \"10.1.0.1\", prefix-length = 16", 16, "10.1.0.2")]
    [InlineData("address = \"10.1.0.1\", prefix-length = 16, guest-address = \"10.1.200.7\"", 16, "10.1.200.7")]
    [InlineData("address = \"192.168.7.5\", prefix-length = 30", 30, "192.168.7.6")]
    [InlineData("address = \"10.0.0.254\", guest-address = \"10.0.0.1\"", 24, "10.0.0.1")]
    [InlineData("address = \"172.16.0.1\", prefix-length = 1", 1, "172.16.0.2")]
    public void A_routed_tap_has_a_prefix_and_a_guest_address_in_its_subnet(string keys, int prefix, string guest)
    {
        NetSettings net = Net(keys);

        Assert.Equal((prefix, guest), (net.PrefixLength, net.GuestAddress));
    }

    [Fact]
    public void A_bridged_tap_has_a_guest_address_only_when_given()
    {
        Assert.Null(Net("bridge = br0").GuestAddress);

        NetSettings given = Net("bridge = br0, guest-address = \"192.168.1.7\", prefix-length = 16");

        Assert.Equal(("192.168.1.7", 16), (given.GuestAddress, given.PrefixLength));
    }

    [Theory]
    [InlineData("prefix-length = 0", "lguest.devices[0].prefix-length", "must be greater than 0, got 0")]
    [InlineData("prefix-length = 31", "lguest.devices[0].prefix-length", "must be at most 30 (room for the host and a guest), got 31")]
    [InlineData("prefix-length = 32", "lguest.devices[0].prefix-length", "must be at most 30")]
    [InlineData("prefix-length = wide", "lguest.devices[0].prefix-length", "not an integer: wide")]
    [InlineData("prefix-length = \"/24\"", "lguest.devices[0].prefix-length", "not an integer: /24")]
    [InlineData("guest-address = \"10.0.0\"", "lguest.devices[0].guest-address", "not an IPv4 address: 10.0.0")]
    [InlineData("guest-address = \"10.0.1.5\"", "lguest.devices[0].guest-address", "10.0.1.5 is not in the tap's subnet 10.0.0.0/24 (address 10.0.0.1, prefix-length 24)")]
    [InlineData("guest-address = \"10.0.0.255\"", "lguest.devices[0].guest-address", "10.0.0.255 is the broadcast address of 10.0.0.0/24, not a host in it")]
    [InlineData("guest-address = \"10.0.0.0\"", "lguest.devices[0].guest-address", "10.0.0.0 is the network address of 10.0.0.0/24, not a host in it")]
    [InlineData("guest-address = \"10.0.0.1\"", "lguest.devices[0].guest-address", "10.0.0.1 is the tap's own address")]
    public void Bad_net_values_name_their_key(string keys, string key, string problem)
    {
        var e = _fixture.Fails($"devices = [ {{ type = net, address = \"10.0.0.1\", {keys} }} ]", key);

        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.0", 24, "10.0.0.0 is the network address of 10.0.0.0/24 (see prefix-length), not a host in it")]
    [InlineData("10.0.0.255", 24, "10.0.0.255 is the broadcast address of 10.0.0.0/24 (see prefix-length), not a host in it")]
    [InlineData("10.0.0.4", 30, "10.0.0.4 is the network address of 10.0.0.4/30")]
    public void A_tap_address_that_is_no_host_of_its_subnet_is_refused(string address, int prefix, string problem)
    {
        var e = _fixture.Fails($"devices = [ {{ type = net, address = \"{address}\", prefix-length = {prefix} }} ]", "lguest.devices[0].address");

        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_default_guest_address_that_would_be_the_broadcast_asks_for_guest_address()
    {
        var e = _fixture.Fails("devices = [ { type = net, address = \"10.0.0.254\" } ]", "lguest.devices[0].guest-address");

        Assert.Equal(
            "lguest.devices[0].guest-address: missing, and the default (address + 1 = 10.0.0.255) is not a host in 10.0.0.0/24; set guest-address",
            e.Message);
    }

    [Fact]
    public void A_bridged_guest_address_must_still_be_IPv4()
        => _fixture.Fails("devices = [ { type = net, bridge = br0, guest-address = \"fe80::1\" } ]", "lguest.devices[0].guest-address");

    [Fact]
    public void The_device_defaults_change_the_prefix_for_every_net_device()
    {
        LauncherSettings settings = _fixture.Read("""
            device-defaults.net.prefix-length = 28
            devices = [ { type = net, address = "10.9.0.1" }, { type = net, address = "10.9.0.17", tap = "lg%d" } ]
            """);

        Assert.Equal([28, 28], settings.Devices.OfType<NetSettings>().Select(n => n.PrefixLength));
        Assert.Equal(["10.9.0.2", "10.9.0.18"], settings.Devices.OfType<NetSettings>().Select(n => n.GuestAddress));
    }

    [Theory]
    [InlineData("64M", 64L << 20)]
    [InlineData("1G", 1L << 30)]
    [InlineData("512", 512)]
    [InlineData("4k", 4096)]
    public void A_missing_disk_with_a_size_is_accepted_and_left_for_the_device_to_create(string size, long bytes)
    {
        string path = Path.Combine(_fixture.Directory, $"new-{Guid.NewGuid():N}.img");

        BlockSettings block = Block($"path = {HoconText.Quote(path)}, size = {size}");

        Assert.Equal(bytes, block.Size);
        Assert.False(File.Exists(path)); // reading the config creates nothing
    }

    [Fact]
    public void An_existing_disk_may_name_a_size_and_keeps_its_own()
    {
        BlockSettings block = Block($"path = {HoconText.Quote(_fixture.Disk)}, size = 1G");

        Assert.Equal(1L << 30, block.Size);
        Assert.Equal(65536, new FileInfo(_fixture.Disk).Length);
    }

    [Fact]
    public void Without_a_size_a_missing_disk_is_still_file_not_found()
    {
        string path = Path.Combine(_fixture.Directory, "absent.img");

        var e = _fixture.Fails($"devices = [ {{ type = block, path = {HoconText.Quote(path)} }} ]", "lguest.devices[0].path");

        Assert.Equal($"lguest.devices[0].path: file not found: {path}", e.Message);
    }

    [Fact]
    public void A_read_only_disk_is_never_created()
    {
        string path = Path.Combine(_fixture.Directory, "absent-ro.img");

        var e = _fixture.Fails($"devices = [ {{ type = block, path = {HoconText.Quote(path)}, size = 64M, read-only = on }} ]", "lguest.devices[0].path");

        Assert.Contains("file not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disk_whose_directory_is_missing_cannot_be_created()
    {
        string path = Path.Combine(_fixture.Directory, "no-such-dir", "disk.img");

        var e = _fixture.Fails($"devices = [ {{ type = block, path = {HoconText.Quote(path)}, size = 64M }} ]", "lguest.devices[0].path");

        Assert.Equal($"lguest.devices[0].path: cannot create {path}: its directory does not exist", e.Message);
    }

    [Theory]
    [InlineData("12Q", "not a size: 12Q (e.g. 64M, 2G)")]
    [InlineData("-1M", "not a size: -1M")]
    [InlineData("0", "must be a positive whole number of 512-byte sectors, got 0")]
    [InlineData("1000", "must be a positive whole number of 512-byte sectors, got 1000")]
    [InlineData("99999999999999999999G", "not a size")]
    public void Bad_sizes_name_the_key(string size, string problem)
    {
        var e = _fixture.Fails($"devices = [ {{ type = block, path = {HoconText.Quote(_fixture.Disk)}, size = \"{size}\" }} ]", "lguest.devices[0].size");

        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }
}
