using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.Qemu.Initramfs;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The initramfs a qemu guest boots when the configuration names none: the launcher's own (busybox, the kernel's
/// virtio modules and an /init that gives a shell on hvc0), built once per kernel and cached.
/// </summary>
internal static class QemuInitrd
{
    public static string Default(LauncherSettings settings)
    {
        string cache = string.IsNullOrEmpty(settings.Qemu.CacheDirectory) ? GuestInitramfs.DefaultCacheDirectory : settings.Qemu.CacheDirectory;
        return GuestInitramfs.Ensure(new InitramfsRequest(settings.Kernel, cache));
    }
}
