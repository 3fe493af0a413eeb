using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Native.Interop;
using Lguest.Native.Tests.Boot;

namespace Lguest.Actors.Tests.Support;

/// <summary>
/// Everything a launcher spec needs around the actors: a kernel the test built, settings, console pipes, and
/// factories that count how often the guest was (re)built.
/// </summary>
internal sealed class TestGuest : IDisposable
{
    public const ulong MemoryBytes = 16UL << 20;
    public const ulong KernelAddress = 0x100000;

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-actors-").FullName;
    private readonly List<ScriptedEngine> _engines = [];
    private readonly List<VirtioDevice> _devices = [];

    public TestGuest(GuestErrorPolicy policy = GuestErrorPolicy.KillLauncher, int maxRestarts = 3, params DeviceSettings[] devices)
    {
        KernelPath = Path.Combine(_directory, "vmlinux");
        var elf = new ElfImageBuilder(is64: false) { Entry = KernelAddress };
        elf.Segment(ElfImageBuilder.PtLoad, KernelAddress, [0xF4, 0xEB, 0xFD], 4096); // hlt; jmp .-1
        File.WriteAllBytes(KernelPath, elf.Build());

        Settings = new LauncherSettings(
            EngineKind.Simulated,
            MemoryBytes,
            KernelPath,
            Initrd: null,
            CommandLine: "console=hvc0 root=/dev/vda",
            Verbose: true,
            Chroot: null,
            User: null,
            LguestDevice: "/dev/lguest",
            new SupervisionSettings(policy, maxRestarts, TimeSpan.FromMinutes(1)),
            devices.Length == 0 ? [new EchoDeviceSettings("echo")] : devices,
            new SimulatedSettings(TimeSpan.FromSeconds(5), ""));

        (ConsoleInputReader, ConsoleInput) = Pipe.Create();
        (ConsoleOutput, ConsoleOutputWriter) = Pipe.Create();
    }

    public string KernelPath { get; }

    public LauncherSettings Settings { get; }

    /// <summary>The guest console's stdin, as the launcher sees it, and the test's end for typing into it.</summary>
    public FileDescriptor ConsoleInputReader { get; }

    public FileDescriptor ConsoleInput { get; }

    /// <summary>The test's end of the guest console's stdout.</summary>
    public FileDescriptor ConsoleOutput { get; }

    public FileDescriptor ConsoleOutputWriter { get; }

    public IReadOnlyList<ScriptedEngine> Engines
    {
        get
        {
            lock (_engines)
            {
                return [.. _engines];
            }
        }
    }

    public ScriptedEngine Engine => Engines[^1];

    public IReadOnlyList<EchoDevice> Devices
    {
        get
        {
            lock (_devices)
            {
                return _devices.OfType<EchoDevice>().ToList();
            }
        }
    }

    public GuestEnvironment Environment => new(
        _ =>
        {
            var engine = new ScriptedEngine();
            lock (_engines)
            {
                _engines.Add(engine);
            }
            return engine;
        },
        settings =>
        {
            VirtioDevice device = settings switch
            {
                EchoDeviceSettings echo => new EchoDevice(echo.Name, echo.Queues),
                _ => throw new ArgumentException($"no test device for {settings}"),
            };
            lock (_devices)
            {
                _devices.Add(device);
            }
            return device;
        },
        ConsoleInputReader,
        ConsoleOutputWriter);

    /// <summary>Waits until the <paramref name="boot"/>th engine exists and the launcher has started running it.</summary>
    public ScriptedEngine WaitForBoot(int boot = 1)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Engines.Count < boot)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"boot {boot} never happened");
            }
            Thread.Sleep(5);
        }
        ScriptedEngine engine = Engines[boot - 1];
        if (!engine.WaitForRun(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"boot {boot} never ran the guest");
        }
        return engine;
    }

    public void Dispose()
    {
        ConsoleInput.Dispose();
        ConsoleInputReader.Dispose();
        ConsoleOutput.Dispose();
        ConsoleOutputWriter.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Settings for <see cref="EchoDevice"/>, a test device.</summary>
internal sealed record EchoDeviceSettings(string Name, int Queues = 1) : DeviceSettings;
