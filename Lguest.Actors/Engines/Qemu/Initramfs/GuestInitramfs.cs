using System.Security.Cryptography;
using System.Text;
using Lguest.Native.Boot;
using Lguest.Native.Boot.Initramfs;

namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// The initramfs a real guest boots when the config names none: busybox-static, the guest kernel's virtio and
/// pvpanic modules, and an /init that gives the launcher a shell on the virtio console (the contract is on
/// <see cref="GuestInitScripts"/>). Building it takes a second or so, so it is cached: the file name carries the
/// kernel release and a hash of what went in (the kernel's version banner, busybox's bytes, the scripts' version
/// and the modules wanted), and a new file is renamed into place whole, so launchers racing to build it are safe.
/// </summary>
public static class GuestInitramfs
{
    /// <summary>$XDG_CACHE_HOME/lguest, or ~/.cache/lguest.</summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "lguest");
        }
    }

    /// <summary>
    /// The path of an initramfs for <see cref="InitramfsRequest.Kernel"/>: the cached one when it exists, else a
    /// freshly built one. Blocks while it runs modprobe and busybox and writes the file: call it off any shared
    /// actor dispatcher.
    /// </summary>
    /// <exception cref="Configuration.ConfigurationException">
    /// The kernel is not a bzImage with a version (key lguest.kernel), or the initramfs cannot be built: no busybox,
    /// a dynamic busybox, no /lib/modules/RELEASE, a module missing, no modprobe (key lguest.initrd).
    /// </exception>
    public static string Ensure(InitramfsRequest request) => Ensure(request, InitramfsHost.Default);

    internal static string Ensure(InitramfsRequest request, InitramfsHost host)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(host);
        KernelRelease kernel = ReadKernel(request.Kernel);
        BusyboxBinary busybox = BusyboxBinary.Find(request.Busybox);

        // A hit costs a header read and a hash of busybox: no modprobe, so the launcher starts QEMU sooner.
        string path = Path.Combine(request.CacheDirectory, CacheFileName(kernel, busybox, host));
        if (File.Exists(path))
        {
            return path;
        }
        IReadOnlyList<GuestModule> modules = GuestModules.Resolve(kernel.Release, host);
        IReadOnlyList<string> applets = InitramfsImage.Applets(busybox);
        InitramfsCache.WriteAtomically(path, output => InitramfsImage.Write(output, busybox, applets, modules));
        return path;
    }

    /// <summary>
    /// "initramfs-6.1.0-57-cloud-amd64-0123456789abcdef.cpio.gz": the release for people, and a hash of everything
    /// that decides the contents for change. The kernel's banner carries its build number and date, so a rebuilt
    /// kernel of the same release (with rebuilt modules) gets a new file; the modules wanted and the scripts are
    /// covered by <paramref name="scriptVersion"/> and the list itself.
    /// </summary>
    internal static string CacheFileName(
        KernelRelease kernel, BusyboxBinary busybox, InitramfsHost host, int scriptVersion = GuestInitScripts.Version)
    {
        string key = string.Join('\n',
            $"scripts {scriptVersion}",
            $"kernel {kernel.Banner}",
            $"busybox {busybox.Sha256}",
            $"modules {string.Join(' ', InitramfsHost.GuestModules)} from {Path.GetFullPath(host.ModulesRoot)}");
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        return $"initramfs-{kernel.Release}-{hash}.cpio.gz";
    }

    private static KernelRelease ReadKernel(string kernel)
    {
        if (string.IsNullOrEmpty(kernel))
        {
            throw InitramfsErrors.BadKernel("missing: the initramfs is built for the kernel's own modules");
        }
        if (!File.Exists(kernel))
        {
            throw InitramfsErrors.BadKernel($"file not found: {kernel}");
        }
        try
        {
            return KernelRelease.Read(kernel);
        }
        catch (BootImageException e)
        {
            throw InitramfsErrors.BadKernel(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InitramfsErrors.BadKernel($"cannot read {kernel}: {e.Message}");
        }
    }
}
