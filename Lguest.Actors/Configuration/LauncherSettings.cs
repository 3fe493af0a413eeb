namespace Lguest.Actors.Configuration;

/// <summary>Which CPU runs the guest.</summary>
public enum EngineKind
{
    /// <summary>lguest when /dev/lguest exists, otherwise simulated; the launcher says which it picked.</summary>
    Auto,
    Lguest,
    Simulated,
    VhostUser,
}

/// <summary>What happens when a guest breaks the virtio rules on one device.</summary>
public enum GuestErrorPolicy
{
    /// <summary>The seed's behaviour: the whole launcher goes down with the device.</summary>
    KillLauncher,

    /// <summary>Reset the device and set DEVICE_NEEDS_RESET; escalate after too many restarts in a window.</summary>
    RestartDevice,
}

public sealed record SupervisionSettings(GuestErrorPolicy GuestErrors, int MaxRestarts, TimeSpan RestartWindow);

/// <summary>One device on the bus, in bus order (the first block device is /dev/vda, the first net eth0).</summary>
public abstract record DeviceSettings;

public sealed record ConsoleSettings : DeviceSettings;

public sealed record BlockSettings(string Path, bool ReadOnly) : DeviceSettings;

public sealed record RngSettings(string Source, int MaxBytesPerRequest) : DeviceSettings;

/// <summary>
/// A tap device. Exactly one of <paramref name="Address"/> (host-side IPv4 address) and <paramref name="Bridge"/>
/// is set; <paramref name="Mac"/> is optional ("aa:bb:cc:dd:ee:ff").
/// </summary>
public sealed record NetSettings(string? Address, string? Bridge, string? Mac, string TapName) : DeviceSettings;

/// <summary>The simulated engine's guest: what its workload does after boot.</summary>
public sealed record SimulatedSettings(TimeSpan InterruptTimeout, string ConsoleEcho);

/// <summary>Everything the launcher needs, read once from the "lguest" section of the config.</summary>
public sealed record LauncherSettings(
    EngineKind Engine,
    ulong MemoryBytes,
    string Kernel,
    string? Initrd,
    string CommandLine,
    bool Verbose,
    string? Chroot,
    string? User,
    string LguestDevice,
    SupervisionSettings Supervision,
    IReadOnlyList<DeviceSettings> Devices,
    SimulatedSettings Simulated);
