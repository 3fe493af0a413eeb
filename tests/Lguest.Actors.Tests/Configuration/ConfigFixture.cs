using Akka.Configuration;
using Lguest.Actors.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>A scratch directory holding a kernel and a disk image, so file checks have something real to find.</summary>
public sealed class ConfigFixture : IDisposable
{
    public ConfigFixture()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("lguest-config-").FullName;
        Kernel = Path.Combine(Directory, "vmlinux");
        Disk = Path.Combine(Directory, "disk.img");
        Initrd = Path.Combine(Directory, "initrd.img");
        File.WriteAllBytes(Kernel, new byte[4096]);
        File.WriteAllBytes(Disk, new byte[65536]);
        File.WriteAllBytes(Initrd, new byte[512]);
    }

    public string Directory { get; }

    public string Kernel { get; }

    public string Disk { get; }

    public string Initrd { get; }

    /// <summary>A config with a valid kernel plus <paramref name="lguestBody"/> inside lguest { }.</summary>
    public Config Lguest(string lguestBody = "") =>
        ConfigurationFactory.ParseString($"lguest {{\n kernel = {HoconText.Quote(Kernel)}\n{lguestBody}\n}}");

    public LauncherSettings Read(string lguestBody = "") => LauncherSettingsReader.Read(Lguest(lguestBody));

    /// <summary>Reading must fail, and the message must start with the full key.</summary>
    public ConfigurationException Fails(string lguestBody, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => Read(lguestBody));
        Assert.Equal(key, e.Key);
        Assert.StartsWith(key + ": ", e.Message, StringComparison.Ordinal);
        return e;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
