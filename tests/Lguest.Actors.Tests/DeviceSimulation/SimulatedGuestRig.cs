using System.Runtime.ExceptionServices;
using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit.LguestModel;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Launcher;
using Lguest.Native.Interop;
using Lguest.Native.Tests.Boot;

using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.DeviceSimulation;

/// <summary>
/// The whole launcher (GuestLauncher.RunAsync, the guest actor, device and queue actors, the real devices built by
/// <see cref="DeviceFactory"/>) running the real lguest engine (LguestEngine and its /dev/lguest channel) against
/// <see cref="DevLguestModel"/>, the model of the host kernel's side, whose guest program is the test's own code.
/// So every request also goes through the kernel's rules: INITIALIZE and reads on one task, the append-only,
/// first-match eventfd table, the IRQ bound, and a stop that is a signal to the run-loop thread.
/// That code drives the simulated guest's drivers, so every request goes driver, ring, kick eventfd, queue actor,
/// device, host file or pipe, used ring, interrupt, driver. The console is a pair of pipes the test holds; a net
/// device gets one end of a datagram socket pair instead of a tap (<see cref="NetHost"/> is the other end).
/// An exception in the guest program (an assertion, say) panics the guest and is rethrown by <see cref="RunAsync"/>.
/// </summary>
internal sealed class SimulatedGuestRig : IDisposable
{
    public const ulong MemoryBytes = 32UL << 20;
    private const ulong KernelAddress = 0x100000;
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-devsim-").FullName;
    private readonly DeviceTestHooks _hooks;
    private ExceptionDispatchInfo? _guestFailure;

    public SimulatedGuestRig(GuestErrorPolicy policy, Action<FileDescriptor>? blockFlush, params DeviceSettings[] devices)
        : this(policy, blockFlush, devices.Append(new ConsoleSettings()).ToList())
    {
    }

    /// <summary>With exactly <paramref name="allDevices"/> on the bus, in that order (the console too, if wanted).</summary>
    public SimulatedGuestRig(IReadOnlyList<DeviceSettings> allDevices)
        : this(GuestErrorPolicy.KillLauncher, null, allDevices)
    {
    }

    private SimulatedGuestRig(GuestErrorPolicy policy, Action<FileDescriptor>? blockFlush, IReadOnlyList<DeviceSettings> allDevices)
    {
        string kernel = Path.Combine(_directory, "vmlinux");
        var elf = new ElfImageBuilder(is64: false) { Entry = KernelAddress };
        elf.Segment(ElfImageBuilder.PtLoad, KernelAddress, [0xF4, 0xEB, 0xFD], 4096);
        File.WriteAllBytes(kernel, elf.Build());
        Settings = new LauncherSettings(
            EngineKind.LguestModel,
            MemoryBytes,
            kernel,
            Initrd: null,
            CommandLine: "console=hvc0",
            Verbose: false,
            Chroot: null,
            User: null,
            LguestDevice: "/dev/lguest",
            new SupervisionSettings(policy, MaxRestarts: 3, TimeSpan.FromMinutes(1)),
            allDevices,
            new SimulatedSettings(TimeSpan.FromSeconds(10), string.Empty));
        (StdinReader, Stdin) = Pipe.Create();
        (Stdout, StdoutWriter) = Pipe.Create();
        _hooks = new DeviceTestHooks(blockFlush, _ =>
        {
            (FileDescriptor device, FileDescriptor host) = SocketPair.CreateDatagram(nonBlocking: true);
            NetHost = host;
            return device;
        });
    }

    public LauncherSettings Settings { get; }

    /// <summary>The test's end of the guest console's stdin, and the launcher's.</summary>
    public FileDescriptor Stdin { get; }

    public FileDescriptor StdinReader { get; }

    /// <summary>The test's end of the guest console's stdout, and the launcher's.</summary>
    public FileDescriptor Stdout { get; }

    public FileDescriptor StdoutWriter { get; }

    /// <summary>The host side of the net device: what the guest sends arrives here, what is written here reaches the guest.</summary>
    public FileDescriptor? NetHost { get; private set; }

    /// <summary>A file in the rig's directory, <paramref name="bytes"/> long, filled with <paramref name="fill"/>.</summary>
    public string CreateFile(string name, int bytes, byte fill = 0)
    {
        string path = Path.Combine(_directory, name);
        byte[] content = new byte[bytes];
        Array.Fill(content, fill);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Runs the launcher with <paramref name="program"/> as the guest; the launcher's exit, once its actors have stopped.</summary>
    public Task<LauncherExit> RunAsync(ActorSystem system, Action<SimulatedGuest> program) => RunAsync(system, program, default);

    /// <summary>As above; cancelling <paramref name="shutdown"/> is what SIGINT or SIGTERM does to the host.</summary>
    public async Task<LauncherExit> RunAsync(ActorSystem system, Action<SimulatedGuest> program, CancellationToken shutdown)
    {
        var environment = new GuestEnvironment(
            settings => LguestModelEngine.Create(settings.LguestDevice, hv => Boot(hv, settings.Simulated.InterruptTimeout, program)),
            device => DeviceFactory.Create(device, StdinReader, StdoutWriter, system.Log, _hooks),
            StdinReader,
            StdoutWriter);
        LauncherExit exit = await GuestLauncher.RunAsync(system, Settings, environment, shutdown).WaitAsync(ExitBound, CancellationToken.None);
        _guestFailure?.Throw();
        return exit;
    }

    public void Dispose()
    {
        Stdin.Dispose();
        StdinReader.Dispose();
        Stdout.Dispose();
        StdoutWriter.Dispose();
        NetHost?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>What SimulatedLinux does before its drivers bind: read the zero page, make a heap, walk the device page.</summary>
    private void Boot(ISimulatedHypervisor hv, TimeSpan timeout, Action<SimulatedGuest> program)
    {
        try
        {
            BootInfo boot = BootInfo.Read(hv.Memory, hv.EntryPoint);
            var heap = new GuestPageAllocator(hv.Memory, WorkloadOptions.DefaultHeap, boot.RamSize);
            program(new SimulatedGuest(hv, heap, LguestBusScanner.Scan(hv.Memory, boot.RamSize, hv.GuestLimit), timeout));
        }
        catch (OperationCanceledException) when (hv.Stopping.IsCancellationRequested)
        {
            throw; // the launcher stopped the engine: the guest just unwinds
        }
        catch (Exception e)
        {
            _guestFailure = ExceptionDispatchInfo.Capture(e);
            hv.Panic($"test guest failed: {e.GetType().Name}: {e.Message}");
        }
        hv.PowerOff();
    }
}

/// <summary>The guest program's view: the hypercalls, a heap for buffers, and the devices found on the bus.</summary>
internal sealed class SimulatedGuest(ISimulatedHypervisor hv, GuestPageAllocator heap, IReadOnlyList<ProbedDevice> devices, TimeSpan timeout)
{
    public ISimulatedHypervisor Hv { get; } = hv;

    public GuestPageAllocator Heap { get; } = heap;

    public IReadOnlyList<ProbedDevice> Devices { get; } = devices;

    public TimeSpan Timeout { get; } = timeout;

    public ProbedDevice Device(byte type) => Devices.First(d => d.Type == type);

    public ConsoleDriver Console(int receiveBuffers = ConsoleDriver.DefaultReceiveBuffers)
        => new(Hv, Heap, Device(VirtioNumbers.DeviceConsole), Timeout, receiveBuffers: receiveBuffers);

    public BlockDriver Block() => new(Hv, Heap, Device(VirtioNumbers.DeviceBlock), Timeout);

    public RngDriver Rng() => new(Hv, Heap, Device(VirtioNumbers.DeviceRng), Timeout);

    public NetDriver Net() => new(Hv, Heap, Device(VirtioNumbers.DeviceNet), Timeout);

    /// <summary>
    /// Waits (bounded) until the launcher sets DEVICE_NEEDS_RESET on <paramref name="device"/>: it raises no
    /// interrupt for it, so a driver notices on its next look at the status byte, as this poll does.
    /// </summary>
    public void WaitForNeedsReset(ProbedDevice device)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while ((device.Status & DriverStatus.NeedsReset) == 0)
        {
            Hv.Stopping.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{device.Name}: DEVICE_NEEDS_RESET never came (status 0x{device.Status:x2})");
            }
            Hv.WaitForInterrupt(31, TimeSpan.FromMilliseconds(2));
        }
    }

    /// <summary>What a driver does to recover: write status 0 (the launcher resets the device and zeroes its rings).</summary>
    public void Reset(ProbedDevice device) => device.SetStatus(Hv, 0);

    /// <summary>Waits for the launcher to stop the engine (after a fatal device error): the guest never returns.</summary>
    public void IdleUntilStopped()
    {
        while (true)
        {
            Hv.WaitForInterrupt(31, TimeSpan.FromSeconds(1));
            Hv.Stopping.ThrowIfCancellationRequested();
        }
    }
}
