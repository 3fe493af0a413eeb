using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit.LguestModel;
using Lguest.Native.Interop;

namespace Lguest.DeviceTestKit.Rig;

/// <summary>
/// The way to test a virtio device: the whole launcher (GuestLauncher, guest, device and queue actors) runs the
/// devices the spec made, on the simulated engine (or the real lguest engine over the model of /dev/lguest), and the
/// spec's own code is the guest, driving them through the TestKit's driver side (<see cref="GuestVirtqueue"/>, written
/// from the virtio spec, not from the device side). Every request goes driver, ring, kick, queue actor, device, used
/// ring, interrupt, driver, as with a real guest. An exception in the guest program (a failed assertion) panics the
/// guest and is rethrown by <see cref="RunAsync(ActorSystem, Action{RigGuest})"/>.
/// </summary>
public sealed class DeviceRig : IDisposable
{
    public const ulong MemoryBytes = 32UL << 20;
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-devicerig-").FullName;
    private readonly Func<DeviceSettings, ActorSystem, VirtioDevice> _makeDevice;
    private readonly DeviceRigOptions _options;
    private readonly FileDescriptor? _nullTerminal;
    private ExceptionDispatchInfo? _guestFailure;

    /// <summary>A rig whose bus holds one device from each factory, in order; a factory runs again after a reset.</summary>
    public DeviceRig(params Func<VirtioDevice>[] devices)
        : this(new DeviceRigOptions(), Slots(devices), (slot, _) => devices[((RigDeviceSettings)slot).Index]())
    {
    }

    /// <summary>
    /// A rig whose bus holds <paramref name="devices"/>, in order, each made by <paramref name="makeDevice"/> (again
    /// after a reset): for specs that run the launcher's own devices from their settings.
    /// </summary>
    public DeviceRig(DeviceRigOptions options, IReadOnlyList<DeviceSettings> devices, Func<DeviceSettings, ActorSystem, VirtioDevice> makeDevice)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(makeDevice);
        if (options.Engine is not (EngineKind.Simulated or EngineKind.LguestModel))
        {
            throw new ArgumentException($"a device rig runs the simulated or lguest-model engine, not {options.Engine}", nameof(options));
        }
        _options = options;
        _makeDevice = makeDevice;
        if (options.Terminal is null)
        {
            // No console of the launcher's own: its terminal is /dev/null.
            _nullTerminal = FileDescriptor.Open("/dev/null", Tmds.Linux.LibC.O_RDWR);
        }
        string kernel = Path.Combine(_directory, "vmlinux");
        TinyKernel.Write(kernel);
        Settings = new LauncherSettings(
            options.Engine,
            MemoryBytes,
            kernel,
            Initrd: null,
            CommandLine: "console=hvc0",
            Verbose: false,
            Chroot: null,
            User: null,
            LguestDevice: "/dev/lguest",
            new SupervisionSettings(options.Policy, MaxRestarts: 3, TimeSpan.FromMinutes(1)),
            devices,
            new SimulatedSettings(TimeSpan.FromSeconds(10), string.Empty));
    }

    /// <summary>The actor system configuration a spec's TestKit should start with: the runtime's dispatchers, quiet logs.</summary>
    public static Config AkkaConfig { get; } = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
        .WithFallback(LauncherSettingsReader.Reference);

    /// <summary>What the launcher runs with; a spec may change it (a supervision policy) before <see cref="RunAsync"/>.</summary>
    public LauncherSettings Settings { get; set; }

    /// <summary>Runs the launcher with <paramref name="program"/> as the guest; the launcher's exit, once its actors stopped.</summary>
    public Task<LauncherExit> RunAsync(ActorSystem system, Action<RigGuest> program) => RunAsync(system, program, CancellationToken.None);

    /// <summary>As above; cancelling <paramref name="shutdown"/> is what SIGINT or SIGTERM does to the host.</summary>
    public async Task<LauncherExit> RunAsync(ActorSystem system, Action<RigGuest> program, CancellationToken shutdown)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(program);
        (FileDescriptor input, FileDescriptor output) = _options.Terminal ?? (_nullTerminal!, _nullTerminal!);
        var environment = new GuestEnvironment(
            settings => settings.Engine == EngineKind.LguestModel
                ? LguestModelEngine.Create(settings.LguestDevice, hv => Boot(hv, settings.Simulated.InterruptTimeout, program))
                : new SimulatedEngine(settings.Simulated, hv => Boot(hv, settings.Simulated.InterruptTimeout, program)),
            device => _makeDevice(device, system),
            input,
            output);
        LauncherExit exit = await GuestLauncher.RunAsync(system, Settings, environment, shutdown)
            .WaitAsync(ExitBound, CancellationToken.None).ConfigureAwait(false);
        _guestFailure?.Throw();
        return exit;
    }

    /// <summary>A file in the rig's own directory, <paramref name="bytes"/> long, filled with <paramref name="fill"/>.</summary>
    public string CreateFile(string name, int bytes, byte fill = 0)
    {
        string path = Path.Combine(_directory, name);
        byte[] content = new byte[bytes];
        Array.Fill(content, fill);
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        _nullTerminal?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static List<DeviceSettings> Slots(Func<VirtioDevice>[] devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        return devices.Select((_, i) => (DeviceSettings)new RigDeviceSettings(i)).ToList();
    }

    /// <summary>What a guest kernel does before its drivers bind: read the boot page, make a heap, walk the device page.</summary>
    private void Boot(ISimulatedHypervisor hv, TimeSpan timeout, Action<RigGuest> program)
    {
        try
        {
            BootInfo boot = BootInfo.Read(hv.Memory, hv.EntryPoint);
            var heap = new GuestPageAllocator(hv.Memory, WorkloadOptions.DefaultHeap, boot.RamSize);
            program(new RigGuest(hv, heap, LguestBusScanner.Scan(hv.Memory, boot.RamSize, hv.GuestLimit), timeout));
        }
        catch (OperationCanceledException) when (hv.Stopping.IsCancellationRequested)
        {
            throw; // the launcher stopped the engine: the guest just unwinds
        }
        catch (Exception e)
        {
            _guestFailure = ExceptionDispatchInfo.Capture(e);
            hv.Panic($"spec guest failed: {e.GetType().Name}: {e.Message}");
        }
        hv.PowerOff();
    }

    /// <summary>The bus slot of a device the spec made; the launcher passes it back to the rig's device factory.</summary>
    private sealed record RigDeviceSettings(int Index) : DeviceSettings;
}

/// <summary>
/// How a <see cref="DeviceRig"/> runs: the engine (<see cref="EngineKind.Simulated"/>, or
/// <see cref="EngineKind.LguestModel"/> for the real lguest engine over the kernel's rules), what the supervisor does
/// when a device fails, and the launcher's terminal (input, output) for a console device; /dev/null when null.
/// </summary>
public sealed record DeviceRigOptions(
    EngineKind Engine = EngineKind.Simulated,
    GuestErrorPolicy Policy = GuestErrorPolicy.KillLauncher,
    (FileDescriptor Input, FileDescriptor Output)? Terminal = null);
