namespace Lguest.Actors.Configuration;

/// <summary>Which CPU runs the guest.</summary>
public enum EngineKind
{
    /// <summary>lguest when /dev/lguest exists, else qemu when its binary is on PATH, else simulated; the launcher says which it picked.</summary>
    Auto,
    Lguest,
    Simulated,
    VhostUser,

    /// <summary>The lguest engine against a model of the host kernel's /dev/lguest, with the simulated guest.</summary>
    LguestModel,

    /// <summary>A real Linux under QEMU (KVM or TCG), every device but the CPU ours, served over vhost-user.</summary>
    Qemu,
}

/// <summary>How the qemu engine runs QEMU's CPU.</summary>
public enum QemuAccelerator
{
    /// <summary>KVM when /dev/kvm opens read-write, otherwise TCG; the launcher logs which and why.</summary>
    Auto,
    Kvm,
    Tcg,
}

/// <summary>
/// The qemu engine: which QEMU binary runs the guest, its accelerator, and where built initramfs images are cached
/// (empty: $XDG_CACHE_HOME/lguest, else ~/.cache/lguest).
/// </summary>
public sealed record QemuSettings(string Binary, QemuAccelerator Accelerator, string CacheDirectory)
{
    public static QemuSettings Default { get; } = new("qemu-system-x86_64", QemuAccelerator.Auto, string.Empty);
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
public abstract record DeviceSettings
{
    /// <summary>The vhost-user socket this device is served on when the engine is vhost-user; null otherwise.</summary>
    public string? Socket { get; init; }
}

public sealed record ConsoleSettings : DeviceSettings;

public sealed record BlockSettings(string Path, bool ReadOnly) : DeviceSettings
{
    /// <summary>When the file is missing, it is created sparse at this many bytes; an existing file keeps its size.</summary>
    public long? Size { get; init; }

    /// <summary>Request queues (VIRTIO_BLK_F_MQ when more than one), each served by its own thread.</summary>
    public int NumQueues { get; init; } = 1;

    /// <summary>The longest a queue thread polls its ring before sleeping (adaptive polling); zero: never polls.</summary>
    public TimeSpan PollMax { get; init; }

    /// <summary>Writes at depth go through an io_uring per queue (when the host has one); false: pwritev on the queue thread.</summary>
    public bool IoUring { get; init; }
}

public sealed record RngSettings(string Source, int MaxBytesPerRequest) : DeviceSettings;

/// <summary>
/// A tap device. Exactly one of <paramref name="Address"/> (host-side IPv4 address) and <paramref name="Bridge"/>
/// is set; <paramref name="Mac"/> is optional ("aa:bb:cc:dd:ee:ff").
/// </summary>
public sealed record NetSettings(string? Address, string? Bridge, string? Mac, string TapName) : DeviceSettings
{
    /// <summary>The subnet's prefix: the tap's host address gets this netmask, and the guest's address shares it.</summary>
    public int PrefixLength { get; init; } = NetworkAddresses.DefaultPrefixLength;

    /// <summary>
    /// The guest's IPv4 address in that subnet (a real guest's init configures eth0 with it). Routed: given, or the
    /// host address + 1. Bridged: only when given.
    /// </summary>
    public string? GuestAddress { get; init; }

    /// <summary>
    /// engine = qemu only: an external vhost-user back end (a switch's port) that QEMU connects this net device to,
    /// instead of a tap of the launcher's own; null for a tap. Address and bridge are then both null.
    /// </summary>
    public string? VhostUserSocket { get; init; }
}

/// <summary>
/// The simulated engine's guest: how long it waits for a device's interrupt before it panics, and a line it prints
/// after boot (empty: none). What its /init does is read from the kernel command line (sim.* keys).
/// </summary>
public sealed record SimulatedSettings(TimeSpan InterruptTimeout, string ConsoleEcho)
{
    /// <summary>
    /// Counts the simulated guest's boots in this launcher (sim.reboot=once asks for a reboot on the first only).
    /// Runtime state shared by every incarnation, not configuration: it takes no part in equality.
    /// </summary>
    public SimulatedBootCounter Boots { get; init; } = new();
}

/// <summary>A thread-safe boot count; every instance equals every other, so settings compare by configuration.</summary>
public sealed class SimulatedBootCounter
{
    private int _boots;

    /// <summary>Boots so far.</summary>
    public int Count => Volatile.Read(ref _boots);

    /// <summary>Records a boot and returns its number, from 1.</summary>
    public int Next() => Interlocked.Increment(ref _boots);

    public override bool Equals(object? obj) => obj is SimulatedBootCounter;

    public override int GetHashCode() => 0;
}

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
    SimulatedSettings Simulated)
{
    /// <summary>The qemu engine's settings (read whatever the engine, so auto can pick qemu).</summary>
    public QemuSettings Qemu { get; init; } = QemuSettings.Default;

    /// <summary>The virtual Ethernet segments (lguest.switches) that net devices may attach to as ports.</summary>
    public IReadOnlyList<SwitchSettings> Switches { get; init; } = [];
}
