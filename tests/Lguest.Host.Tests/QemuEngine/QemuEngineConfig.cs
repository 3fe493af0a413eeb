using Lguest.Host.Tests.RealGuest;

namespace Lguest.Host.Tests.QemuEngine;

/// <summary>HOCON for a qemu-engine guest: the test kernel, the launcher's own initramfs, TCG, and the given devices.</summary>
internal static class QemuEngineConfig
{
    /// <summary>
    /// An initramfs to use instead of the launcher's built-in one (LGUEST_TEST_GUEST_INITRD), for trying a
    /// candidate /init; normally unset, so the tests boot exactly what users boot.
    /// </summary>
    public static string InitrdLine => Environment.GetEnvironmentVariable("LGUEST_TEST_GUEST_INITRD") is { Length: > 0 } initrd
        ? $"initrd = \"{initrd}\""
        : "";

    public static string Write(string directory, string devices, string extra = "", string? kernel = null)
    {
        string path = Path.Combine(directory, $"guest-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, $$"""
            lguest {
              engine = qemu
              qemu.accel = tcg
              memory = 256M
              kernel = "{{kernel ?? RealGuestRequirements.Kernel}}"
              {{InitrdLine}}
              command-line = "quiet"
              qemu.cache-directory = "{{Path.Combine(directory, "cache")}}"
              devices = [ {{devices}} ]
              {{extra}}
            }
            """);
        return path;
    }
}
