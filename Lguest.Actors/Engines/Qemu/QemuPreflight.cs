using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// What the qemu engine checks before anything starts, so a wrong machine or a wrong file is a one-line usage error
/// (exit 2) rather than a QEMU that fails half-way through starting: the QEMU binary must exist, the kernel must be
/// a kernel, and without an initrd the guest gets the launcher's own initramfs.
/// </summary>
internal static class QemuPreflight
{
    /// <summary>Returns <paramref name="settings"/>, with the initramfs filled in, when the engine (auto resolved) is qemu.</summary>
    /// <exception cref="ConfigurationException">The first problem, naming its key.</exception>
    public static LauncherSettings Check(LauncherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (EngineSelector.Resolve(settings).Engine != EngineKind.Qemu)
        {
            return settings;
        }
        // Both would apply after the first boot's setup: QEMU, its runtime directory and the next boot's sockets
        // would then lie outside the chroot, or belong to a user the launcher no longer is.
        if (settings.Chroot is not null)
        {
            throw new ConfigurationException("lguest.chroot", "not supported with engine qemu (QEMU and its sockets live outside any chroot)");
        }
        if (settings.User is not null)
        {
            throw new ConfigurationException("lguest.user", "not supported with engine qemu (every reboot starts QEMU and its sockets anew, as the launcher's user)");
        }
        if (QemuBinary.Find(settings.Qemu.Binary) is null)
        {
            throw new ConfigurationException("lguest.qemu.binary", $"{settings.Qemu.Binary} not found (apt-get install qemu-system-x86)");
        }
        EnginePreflight.ProbeKernel(settings);
        return string.IsNullOrEmpty(settings.Initrd) ? settings with { Initrd = QemuInitrd.Default(settings) } : settings;
    }
}
