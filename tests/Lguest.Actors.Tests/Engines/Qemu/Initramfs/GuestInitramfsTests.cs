using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.Qemu.Initramfs;
using Lguest.Native.Tests.Boot;
using Lguest.Native.Tests.Boot.Initramfs;

namespace Lguest.Actors.Tests.Engines.Qemu.Initramfs;

/// <summary>Builds against the installed kernel (/vmlinuz), busybox-static and modprobe, as the launcher does.</summary>
public sealed class GuestInitramfsTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("lguest-initramfs-").FullName;

    private static string InstalledRelease => Lguest.Native.Boot.Initramfs.KernelRelease.Read("/vmlinuz").Release;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [Fact]
    public void The_first_call_builds_an_initramfs_in_the_cache_and_the_second_returns_it_unchanged()
    {
        string first = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));
        DateTime written = File.GetLastWriteTimeUtc(first);
        byte[] bytes = File.ReadAllBytes(first);

        string second = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));

        Assert.Equal(first, second);
        Assert.Equal(written, File.GetLastWriteTimeUtc(second));
        Assert.Equal(bytes, File.ReadAllBytes(second));
        Assert.Equal([Path.GetFileName(first)], Directory.GetFiles(_cache).Select(Path.GetFileName));
        Assert.StartsWith($"initramfs-{InstalledRelease}-", Path.GetFileName(first), StringComparison.Ordinal);
    }
}
