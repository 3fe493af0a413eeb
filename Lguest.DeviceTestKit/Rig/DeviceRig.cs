using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Launcher;
using Lguest.Native.Interop;

namespace Lguest.DeviceTestKit.Rig;

/// <summary>
/// The way to test a virtio device: the whole launcher (GuestLauncher, guest, device and queue actors) runs the
/// devices the spec made, on the simulated engine, and the spec's own code is the guest, driving them through the
/// TestKit's driver side (<see cref="GuestVirtqueue"/>, written from the virtio spec, not from the device side).
/// Every request goes driver, ring, kick, queue actor, device, used ring, interrupt, driver, as with a real guest.
/// An exception in the guest program (a failed assertion) panics the guest and is rethrown by <see cref="RunAsync"/>.
/// </summary>
public sealed class DeviceRig : IDisposable
{
    public const ulong MemoryBytes = 32UL << 20;
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-devicerig-").FullName;
    private readonly IReadOnlyList<Func<VirtioDevice>> _devices;
    private readonly FileDescriptor _console = FileDescriptor.Open("/dev/null", Tmds.Linux.LibC.O_RDWR);
    private ExceptionDispatchInfo? _guestFailure;

    /// <summary>A rig whose bus holds one device from each factory, in order; a factory runs again after a reset.</summary>
    public DeviceRig(params Func<VirtioDevice>[] devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        _devices = devices;
        string kernel = Path.Combine(_directory, "vmlinux");
        TinyKernel.Write(kernel);
        Settings = new LauncherSettings(
            EngineKind.Simulated,
            MemoryBytes,
            kernel,
            Initrd: null,
            CommandLine: "console=hvc0",
            Verbose: false,
            Chroot: null,
            User: null,
            LguestDevice: "/dev/lguest",
            new SupervisionSettings(GuestErrorPolicy.KillLauncher, MaxRestarts: 3, TimeSpan.FromMinutes(1)),
            devices.Select((_, i) => (DeviceSettings)new RigDeviceSettings(i)).ToList(),
            new SimulatedSettings(TimeSpan.FromSeconds(10), string.Empty));
    }

    /// <summary>The actor system configuration a spec's TestKit should start with: the runtime's dispatchers, quiet logs.</summary>
    public static Config AkkaConfig { get; } = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
        .WithFallback(LauncherSettingsReader.Reference);

    /// <summary>What the launcher runs with; a spec may change it (a supervision policy) before <see cref="RunAsync"/>.</summary>
    public LauncherSettings Settings { get; set; }

    /// <summary>Runs the launcher with <paramref name="program"/> as the guest; the launcher's exit, once its actors stopped.</summary>
    public async Task<LauncherExit> RunAsync(ActorSystem system, Action<RigGuest> program)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(program);
        var environment = new GuestEnvironment(
            settings => new SimulatedEngine(settings.Simulated, hv => Boot(hv, settings.Simulated.InterruptTimeout, program)),
            device => device is RigDeviceSettings rig
                ? _devices[rig.Index]()
                : throw new Actors.Configuration.ConfigurationException("lguest.devices", $"the device rig cannot make a {device.GetType().Name}"),
            // No console on the rig's bus: the launcher's terminal is /dev/null.
            _console,
            _console);
        LauncherExit exit = await GuestLauncher.RunAsync(system, Settings, environment, CancellationToken.None)
            .WaitAsync(ExitBound, CancellationToken.None).ConfigureAwait(false);
        _guestFailure?.Throw();
        return exit;
    }

    public void Dispose()
    {
        _console.Dispose();
        Directory.Delete(_directory, recursive: true);
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
