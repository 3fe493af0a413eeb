using Akka.Configuration;
using Lguest.Native.Interop;

namespace Lguest.Actors.Configuration;

/// <summary>
/// Reads <see cref="LauncherSettings"/> once, from the "lguest" section of a config with reference.conf as the
/// fallback, and validates all of it before anything starts: a bad value is reported with its full key.
/// </summary>
internal static class LauncherSettingsReader
{
    public const string Section = "lguest";

    private const ulong MinimumMemory = 2 * MemorySize.MiB;
    private const ulong MemoryLimit = 4UL << 30;

    private static readonly (string, EngineKind)[] Engines =
    [
        ("auto", EngineKind.Auto), ("lguest", EngineKind.Lguest), ("qemu", EngineKind.Qemu), ("simulated", EngineKind.Simulated),
        ("vhost-user", EngineKind.VhostUser), ("lguest-model", EngineKind.LguestModel),
    ];

    private static readonly (string, QemuAccelerator)[] Accelerators =
    [
        ("auto", QemuAccelerator.Auto), ("kvm", QemuAccelerator.Kvm), ("tcg", QemuAccelerator.Tcg),
    ];

    private static readonly (string, GuestErrorPolicy)[] GuestErrorPolicies =
    [
        ("kill-launcher", GuestErrorPolicy.KillLauncher), ("restart-device", GuestErrorPolicy.RestartDevice),
    ];

    /// <summary>reference.conf, embedded in this assembly: every lguest default and the launcher's dispatchers.</summary>
    public static Config Reference { get; } = LoadReference();

    /// <exception cref="ConfigurationException">The first unusable value, its message naming the key.</exception>
    public static LauncherSettings Read(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        KeySchema.RejectUnknownKeys(config, Reference, Section);
        Config merged = config.IsEmpty || ReferenceEquals(config, Reference) ? Reference : config.WithFallback(Reference);
        var lguest = new ConfigSection(merged.GetConfig(Section), Section);
        EngineKind engine = lguest.Choice("engine", Engines);

        var settings = new LauncherSettings(
            Engine: engine,
            MemoryBytes: ReadMemory(lguest),
            Kernel: ReadKernel(lguest, engine),
            Initrd: lguest.OptionalString("initrd") is { } initrd ? lguest.ExistingFile("initrd", initrd) : null,
            CommandLine: lguest.String("command-line"),
            Verbose: lguest.Boolean("verbose"),
            Chroot: OnlyWithAGuest(lguest, engine, "chroot", ReadChroot(lguest)),
            User: OnlyWithAGuest(lguest, engine, "user", ReadUser(lguest)),
            LguestDevice: lguest.OptionalString("lguest-device") ?? throw lguest.Error("lguest-device", "must not be empty"),
            Supervision: new SupervisionSettings(
                lguest.Choice("supervision.guest-errors", GuestErrorPolicies),
                lguest.Integer("supervision.max-restarts", minimum: 0),
                lguest.Duration("supervision.restart-window")),
            Devices: ReadDevices(lguest, merged.GetConfig(Section), engine),
            Simulated: new SimulatedSettings(
                lguest.Duration("simulated.interrupt-timeout"),
                lguest.String("simulated.console-echo")))
        {
            Qemu = new QemuSettings(
                lguest.OptionalString("qemu.binary") ?? throw lguest.Error("qemu.binary", "must not be empty"),
                lguest.Choice("qemu.accel", Accelerators),
                lguest.String("qemu.cache-directory")),
        };
        List<SwitchSettings> switches = SwitchSettingsReader.Read(merged.GetConfig(Section), Section);
        SwitchSettingsReader.CheckPorts(settings.Devices, switches, engine, Section);
        // No switches keeps the default (empty) list, so settings without any compare equal to ones built in code.
        return switches.Count == 0 ? settings : settings with { Switches = switches };
    }

    /// <summary>
    /// The seed's command line (<see cref="SeedArguments.Usage"/>), turned into config and read like any other,
    /// so both forms share one validation.
    /// </summary>
    /// <exception cref="ConfigurationException">A usage error (key "arguments") or an unusable value.</exception>
    public static LauncherSettings FromSeedArguments(string[] args) => Read(SeedArguments.ToConfig(args));

    private static ulong ReadMemory(ConfigSection lguest)
    {
        string text = lguest.String("memory");
        ulong bytes = MemorySize.Parse(text) ?? throw lguest.Error("memory", $"not a size: {text}");
        if (bytes % MemorySize.MiB != 0)
        {
            throw lguest.Error("memory", $"must be a whole number of MiB, got {text}");
        }
        if (bytes < MinimumMemory)
        {
            throw lguest.Error("memory", $"must be at least 2M, got {text}");
        }
        // lguest guests are 32-bit, and the device pages sit above RAM: RAM itself must leave room below 4 GiB.
        return bytes < MemoryLimit ? bytes : throw lguest.Error("memory", $"must be below 4G (lguest guests are 32-bit), got {text}");
    }

    /// <summary>A vhost-user back end loads no kernel (the front end runs the guest); every other engine needs one.</summary>
    private static string ReadKernel(ConfigSection lguest, EngineKind engine)
    {
        string? kernel = lguest.OptionalString("kernel");
        if (kernel is null)
        {
            return engine == EngineKind.VhostUser
                ? string.Empty
                : throw lguest.Error("kernel", "missing: the path of the guest kernel image is required");
        }
        return lguest.ExistingFile("kernel", kernel);
    }

    /// <summary>
    /// The listed devices in order, then the console, when on, as the LAST device: the seed called setup_console()
    /// only after getopt had set up every --tunnet, --block and --rng, so the console's queues take the last IRQs
    /// and the last virtio index. Over vhost-user the front end owns the console, and each listed device needs a
    /// socket of its own.
    /// </summary>
    private static List<DeviceSettings> ReadDevices(ConfigSection lguest, Config section, EngineKind engine)
    {
        List<DeviceSettings> listed = DeviceSettingsReader.Read(section, Section);
        if (engine == EngineKind.VhostUser)
        {
            if (listed.Count == 0)
            {
                throw lguest.Error("devices", "engine vhost-user needs at least one device to serve");
            }
            var sockets = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < listed.Count; i++)
            {
                string key = $"devices[{i}].socket";
                string socket = listed[i].Socket ?? throw lguest.Error(key, "missing: engine vhost-user serves each device on a socket of its own");
                if (!sockets.Add(Path.GetFullPath(socket)))
                {
                    throw lguest.Error(key, $"{socket} is already used by another device");
                }
                string? directory = Path.GetDirectoryName(Path.GetFullPath(socket));
                if (directory is not null && !Directory.Exists(directory))
                {
                    throw lguest.Error(key, $"directory not found: {directory}");
                }
            }
        }
        if (lguest.Boolean("console") && engine != EngineKind.VhostUser)
        {
            listed.Add(new ConsoleSettings());
        }
        return listed;
    }

    /// <summary>
    /// chroot and user are applied once the guest's files are open and before it runs; a vhost-user back end has no
    /// such moment yet (it opens nothing per front end but accepts), so asking for them there is an error, not a no-op.
    /// </summary>
    private static string? OnlyWithAGuest(ConfigSection lguest, EngineKind engine, string key, string? value) =>
        value is not null && engine == EngineKind.VhostUser
            ? throw lguest.Error(key, "not supported with engine vhost-user")
            : value;

    private static string? ReadChroot(ConfigSection lguest)
    {
        string? directory = lguest.OptionalString("chroot");
        return directory is null || Directory.Exists(directory)
            ? directory
            : throw lguest.Error("chroot", $"directory not found: {directory}");
    }

    /// <summary>Looked up now, as the seed did while parsing its options, so a misspelt user fails before start-up.</summary>
    private static string? ReadUser(ConfigSection lguest)
    {
        string? user = lguest.OptionalString("user");
        if (user is null)
        {
            return null;
        }
        try
        {
            return Privileges.FindUser(user) is not null ? user : throw lguest.Error("user", $"no such user: {user}");
        }
        catch (SystemCallException e)
        {
            throw lguest.Error("user", e.Message);
        }
    }

    private static Config LoadReference()
    {
        const string name = "Lguest.reference.conf";
        using Stream stream = typeof(LauncherSettingsReader).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
