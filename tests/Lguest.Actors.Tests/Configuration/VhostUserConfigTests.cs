using Akka.Configuration;
using Lguest.Actors.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>engine = vhost-user: no kernel, no console, and one socket per device.</summary>
public sealed class VhostUserConfigTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public VhostUserConfigTests(ConfigFixture fixture) => _fixture = fixture;

    private string Disk => HoconText.Quote(Path.Combine(_fixture.Directory, "disk.img"));

    private string Socket(string name) => HoconText.Quote(Path.Combine(_fixture.Directory, name));

    [Fact]
    public void Serves_each_device_on_its_socket_without_a_kernel_or_console()
    {
        File.WriteAllBytes(Path.Combine(_fixture.Directory, "disk.img"), new byte[4096]);
        LauncherSettings settings = Read($$"""
            lguest {
              engine = vhost-user
              devices = [
                { type = block, path = {{Disk}}, socket = {{Socket("blk.sock")}} }
                { type = rng, socket = {{Socket("rng.sock")}} }
              ]
            }
            """);

        Assert.Equal(EngineKind.VhostUser, settings.Engine);
        Assert.Equal(string.Empty, settings.Kernel);
        Assert.Equal(2, settings.Devices.Count);
        Assert.IsType<BlockSettings>(settings.Devices[0]);
        Assert.Equal(Path.Combine(_fixture.Directory, "blk.sock"), settings.Devices[0].Socket);
        Assert.Equal(Path.Combine(_fixture.Directory, "rng.sock"), settings.Devices[1].Socket);
    }

    [Fact]
    public void A_device_without_a_socket_is_named()
    {
        var e = Assert.Throws<ConfigurationException>(() => Read("""
            lguest {
              engine = vhost-user
              devices = [ { type = rng } ]
            }
            """));
        Assert.Equal("lguest.devices[0].socket", e.Key);
    }

    [Fact]
    public void Two_devices_on_one_socket_are_refused()
    {
        var e = Assert.Throws<ConfigurationException>(() => Read($$"""
            lguest {
              engine = vhost-user
              devices = [
                { type = rng, socket = {{Socket("same.sock")}} }
                { type = rng, socket = {{Socket("same.sock")}} }
              ]
            }
            """));
        Assert.Equal("lguest.devices[1].socket", e.Key);
        Assert.Contains("already used", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_socket_in_a_missing_directory_is_named()
    {
        var e = Assert.Throws<ConfigurationException>(() => Read("""
            lguest {
              engine = vhost-user
              devices = [ { type = rng, socket = "/no/such/dir/rng.sock" } ]
            }
            """));
        Assert.Equal("lguest.devices[0].socket", e.Key);
        Assert.Equal("lguest.devices[0].socket: directory not found: /no/such/dir", e.Message);
    }

    [Theory]
    [InlineData("chroot = \"/\"", "lguest.chroot")]
    [InlineData("user = root", "lguest.user")]
    public void Chroot_and_user_are_refused_rather_than_ignored(string setting, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => Read($$"""
            lguest {
              engine = vhost-user
              {{setting}}
              devices = [ { type = rng, socket = {{Socket("r.sock")}} } ]
            }
            """));
        Assert.Equal(key, e.Key);
        Assert.Equal($"{key}: not supported with engine vhost-user", e.Message);
    }

    [Fact]
    public void Nothing_to_serve_is_an_error()
    {
        var e = Assert.Throws<ConfigurationException>(() => Read("lguest.engine = vhost-user"));
        Assert.Equal("lguest.devices", e.Key);
    }

    private static LauncherSettings Read(string hocon) => LauncherSettingsReader.Read(ConfigurationFactory.ParseString(hocon));
}
