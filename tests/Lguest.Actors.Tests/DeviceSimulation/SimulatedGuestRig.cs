using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Supervision;
using Lguest.Actors.Launcher;
using Lguest.DeviceTestKit.LguestModel;
using Lguest.DeviceTestKit.Rig;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.DeviceSimulation;

/// <summary>
/// The TestKit's <see cref="DeviceRig"/> with the launcher's own devices (built from their settings by
/// <see cref="DeviceFactory"/>, as Lguest.Host builds them) on the real lguest engine (LguestEngine and its
/// /dev/lguest channel) against <see cref="DevLguestModel"/>, the model of the host kernel's side. So every request also
/// goes through the kernel's rules: INITIALIZE and reads on one task, the append-only, first-match eventfd table, the
/// IRQ bound, and a stop that is a signal to the run-loop thread. What this adds to the rig is the host's end of each
/// device: the console is a pair of pipes the test holds, and a net device gets one end of a datagram socket pair
/// instead of a tap (<see cref="NetHost"/> is the other end).
/// </summary>
internal sealed class SimulatedGuestRig : IDisposable
{
    public const ulong MemoryBytes = DeviceRig.MemoryBytes;

    private readonly DeviceRig _rig;
    private readonly DeviceTestHooks _hooks;

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
        (StdinReader, Stdin) = Pipe.Create();
        (Stdout, StdoutWriter) = Pipe.Create();
        _hooks = new DeviceTestHooks(blockFlush, _ =>
        {
            (FileDescriptor device, FileDescriptor host) = SocketPair.CreateDatagram(nonBlocking: true);
            NetHost = host;
            return device;
        });
        _rig = new DeviceRig(
            new DeviceRigOptions(EngineKind.LguestModel, policy, (StdinReader, StdoutWriter)),
            allDevices,
            (device, system) => DeviceFactory.Create(device, StdinReader, StdoutWriter, system.Log, _hooks));
    }

    public LauncherSettings Settings => _rig.Settings;

    /// <summary>The test's end of the guest console's stdin, and the launcher's.</summary>
    public FileDescriptor Stdin { get; }

    public FileDescriptor StdinReader { get; }

    /// <summary>The test's end of the guest console's stdout, and the launcher's.</summary>
    public FileDescriptor Stdout { get; }

    public FileDescriptor StdoutWriter { get; }

    /// <summary>The host side of the net device: what the guest sends arrives here, what is written here reaches the guest.</summary>
    public FileDescriptor? NetHost { get; private set; }

    /// <summary>A file in the rig's directory, <paramref name="bytes"/> long, filled with <paramref name="fill"/>.</summary>
    public string CreateFile(string name, int bytes, byte fill = 0) => _rig.CreateFile(name, bytes, fill);

    /// <summary>Runs the launcher with <paramref name="program"/> as the guest; the launcher's exit, once its actors have stopped.</summary>
    public Task<LauncherExit> RunAsync(ActorSystem system, Action<RigGuest> program) => _rig.RunAsync(system, program);

    /// <summary>As above; cancelling <paramref name="shutdown"/> is what SIGINT or SIGTERM does to the host.</summary>
    public Task<LauncherExit> RunAsync(ActorSystem system, Action<RigGuest> program, CancellationToken shutdown)
        => _rig.RunAsync(system, program, shutdown);

    public void Dispose()
    {
        _rig.Dispose();
        Stdin.Dispose();
        StdinReader.Dispose();
        Stdout.Dispose();
        StdoutWriter.Dispose();
        NetHost?.Dispose();
    }
}
