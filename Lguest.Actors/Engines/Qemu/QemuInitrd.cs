using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>The initramfs a qemu guest boots when the configuration names none.</summary>
internal static class QemuInitrd
{
    public static string Default(LauncherSettings settings) =>
        throw new ConfigurationException("lguest.initrd", "the qemu engine needs an initrd (the built-in initramfs is not available in this build)");
}
