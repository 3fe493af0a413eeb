using Akka.Event;
using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Console;

/// <summary>
/// The console: a fairly simple device, which UNIX tty handling makes uglier than it could be. Two queues, input
/// (stdin to the guest) and output (the guest to stdout). While the guest runs a terminal on stdin is raw (no echo,
/// no line buffering, ^C as a byte), and <see cref="TerminalGuard"/> puts it back however we leave.
/// </summary>
internal sealed class ConsoleDevice : VirtioDevice
{
    public const byte Id = 3;
    public const ushort QueueSize = 256;

    private readonly IReadOnlyList<QueueDefinition> _queues;
    private readonly bool _raw;

    public ConsoleDevice(FileDescriptor input, FileDescriptor output, ILoggingAdapter log)
        : this(input, output, log, ProcessSignals.InterruptSelf, () => Environment.TickCount64)
    {
    }

    /// <summary>
    /// <paramref name="abort"/> is what three ^C in a second do (SIGINT to ourselves, outside tests);
    /// <paramref name="clock"/> reads milliseconds.
    /// </summary>
    public ConsoleDevice(FileDescriptor input, FileDescriptor output, ILoggingAdapter log, Action abort, Func<long> clock)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        Input = new ConsoleInputState(log, new ConsoleAbort(abort, clock));
        _raw = TerminalGuard.EnterRaw(input);
        _queues =
        [
            new QueueDefinition("input", QueueSize, () => new ConsoleInputHandler(input, Input, Counters)),
            new QueueDefinition("output", QueueSize, () => new ConsoleOutputHandler(output, Counters)),
        ];
    }

    public override byte DeviceType => Id;

    public override string Name => "console";

    public override ulong OfferedFeatures => 0;

    public override IReadOnlyList<QueueDefinition> Queues => _queues;

    public DeviceCounters Counters { get; } = new("console");

    /// <summary>Survives a device reset: stdin that has ended stays ended.</summary>
    internal ConsoleInputState Input { get; }

    public override string Describe() => "console";

    public override void LogThrough(ILoggingAdapter log) => Input.LogThrough(log);

    protected override void Dispose(bool disposing)
    {
        if (disposing && _raw)
        {
            TerminalGuard.Restore();
        }
        base.Dispose(disposing);
    }
}

/// <summary>What the console remembers about stdin across handler incarnations.</summary>
internal sealed class ConsoleInputState
{
    private volatile ILoggingAdapter _log;
    private int _ended;

    public ConsoleInputState(ILoggingAdapter log, ConsoleAbort abort)
    {
        _log = log;
        Abort = abort;
    }

    public ConsoleAbort Abort { get; }

    /// <summary>The serving device actor's logger, from <see cref="VirtioDevice.LogThrough"/>.</summary>
    public void LogThrough(ILoggingAdapter log) => _log = log;

    public bool Ended => Volatile.Read(ref _ended) != 0;

    /// <summary>Chains taken after stdin ended and deliberately never returned.</summary>
    public int HeldChains { get; set; }

    /// <summary>
    /// Stops console input for good, saying so once: at info level for end of input (a service's stdin is /dev/null,
    /// a pipe runs dry), as a warning when reading failed.
    /// </summary>
    public void End(string why, bool failed = false)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            if (failed)
            {
                _log.Warning("console: {Reason}; ignoring console input from now on", why);
            }
            else
            {
                _log.Info("console: {Reason}; ignoring console input from now on", why);
            }
        }
    }
}
