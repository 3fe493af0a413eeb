using Lguest.Actors.Configuration;
using Lguest.Native.Interop;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// What the qemu engine checks before anything starts, so a wrong machine or a wrong file is a one-line usage error
/// (exit 2) rather than a QEMU that fails half-way through starting: the QEMU binary must exist, the kernel must be
/// a kernel, a net device's external back end must be listening, and without an initrd the guest gets the
/// launcher's own initramfs.
/// </summary>
internal static class QemuPreflight
{
    /// <summary>Returns <paramref name="settings"/>, with the initramfs filled in, when the engine (auto resolved) is qemu.</summary>
    /// <exception cref="ConfigurationException">The first problem, naming its key.</exception>
    public static LauncherSettings Check(LauncherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Check(settings, EngineSelector.Resolve(settings).Engine);
    }

    /// <summary>The same, for an <paramref name="engine"/> the caller has already resolved.</summary>
    internal static LauncherSettings Check(LauncherSettings settings, EngineKind engine)
    {
        if (engine != EngineKind.Qemu)
        {
            if (ExternalNetDevices(settings).FirstOrDefault() is ({ } key, _))
            {
                string name = engine switch
                {
                    EngineKind.VhostUser => "vhost-user",
                    EngineKind.LguestModel => "lguest-model",
                    _ => engine.ToString().ToLowerInvariant(),
                };
                throw new ConfigurationException(key, $"only the qemu engine attaches a guest to an external vhost-user back end (the engine is {name})");
            }
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
        foreach ((string key, string socket) in ExternalNetDevices(settings))
        {
            CheckExternalSocket(key, socket);
        }
        if (QemuBinary.Find(settings.Qemu.Binary) is null)
        {
            throw new ConfigurationException("lguest.qemu.binary", $"{settings.Qemu.Binary} not found (apt-get install qemu-system-x86)");
        }
        EnginePreflight.ProbeKernel(settings);
        return string.IsNullOrEmpty(settings.Initrd) ? settings with { Initrd = QemuInitrd.Default(settings) } : settings;
    }

    /// <summary>Each net device on an external back end, with its key (devices[i] is settings.Devices[i]: the console comes last).</summary>
    private static IEnumerable<(string Key, string Socket)> ExternalNetDevices(LauncherSettings settings) =>
        settings.Devices
            .Select((device, index) => (device, index))
            .Where(d => d.device is NetSettings { VhostUserSocket: not null })
            .Select(d => ($"lguest.devices[{d.index}].vhost-user-socket", ((NetSettings)d.device).VhostUserSocket!));

    /// <summary>
    /// The back end must be listening before the guest starts: QEMU's vhost-user netdev connects once, at start-up,
    /// and a missing socket would otherwise surface as QEMU's own error after the launcher had set everything up.
    /// </summary>
    private static void CheckExternalSocket(string key, string socket)
    {
        const int SocketPathLimit = 107; // sun_path holds 108 bytes, the last a NUL
        string path = Path.GetFullPath(socket);
        if (System.Text.Encoding.UTF8.GetByteCount(path) > SocketPathLimit)
        {
            throw new ConfigurationException(key, $"{path} is longer than a Unix socket path may be ({SocketPathLimit} bytes)");
        }
        if (!Path.Exists(path))
        {
            throw new ConfigurationException(key, $"{socket} does not exist: start its back end (the switch) first");
        }
        if (!UnixSocket.IsSocket(path))
        {
            throw new ConfigurationException(key, $"{socket} is not a socket: expected a vhost-user back end's listening socket (a switch port)");
        }
    }
}
