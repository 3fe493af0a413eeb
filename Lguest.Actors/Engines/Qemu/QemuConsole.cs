using System.Runtime.InteropServices;
using Akka.Actor;
using Lguest.Actors.Devices.Console;
using Lguest.Native.Interop;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The guest's console, ours as it was in the seed: QEMU's virtconsole (hvc0) and serial port (ttyS0) connect to
/// sockets we listen on, and two threads copy stdin to hvc0 and hvc0 to stdout. The kernel's messages from before
/// virtio_console is loaded can only reach ttyS0, so serial output is copied too, but only until hvc0's first byte,
/// after which the kernel prints on both and copying ttyS0 would show everything twice.
///
/// stdin is raw while the guest runs when it is a terminal (restored on every way out by <see cref="TerminalGuard"/>),
/// and three ^C within a second stop the launcher (<see cref="ConsoleAbort"/>). When stdin is not a terminal the
/// guest runs a script: at the end of stdin one ^D goes to the guest, so its shell sees end of file and powers off.
/// </summary>
internal sealed class QemuConsole : IDisposable
{
    private const byte EndOfTransmission = 0x04;

    /// <summary>What the launcher's initramfs prints on hvc0 just before its shell opens the console for good.</summary>
    public static readonly byte[] ReadyLine = "lguest: guest ready"u8.ToArray();

    /// <summary>
    /// A guest whose /init never prints <see cref="ReadyLine"/> (someone else's initrd) gets stdin this long after
    /// its first console output instead.
    /// </summary>
    private static readonly TimeSpan ReadyFallback = TimeSpan.FromSeconds(3);

    private readonly ManualResetEventSlim _ready = new();
    private readonly List<byte> _recent = [];
    private long _firstOutputAt;

    private readonly FileDescriptor _input;
    private readonly FileDescriptor _output;
    private readonly IActorRef _owner;
    private readonly FileDescriptor _consoleListener;
    private readonly FileDescriptor _serialListener;
    private readonly EventFd _stop = EventFd.Create();
    private readonly Thread _outputThread;
    private readonly ConsoleAbort _abort;
    private Thread? _inputThread;
    private FileDescriptor? _console;
    private FileDescriptor? _serial;
    private volatile bool _stopping;
    private bool _serialClosed;

    public QemuConsole(string consolePath, string serialPath, FileDescriptor input, FileDescriptor output, IActorRef owner)
    {
        _input = input;
        _output = output;
        _owner = owner;
        Interactive = Terminal.IsTerminal(input);
        _abort = new ConsoleAbort(() => _owner.Tell(new QemuMessages.ConsoleAborted()), () => Environment.TickCount64);
        _consoleListener = UnixSocket.Listen(consolePath);
        _serialListener = UnixSocket.Listen(serialPath);
        if (Interactive)
        {
            TerminalGuard.EnterRaw(input);
        }
        _outputThread = new Thread(CopyOutput) { IsBackground = true, Name = "console output" };
        _outputThread.Start();
    }

    /// <summary>stdin is a terminal: the guest gets an interactive shell. Otherwise it runs stdin as a script.</summary>
    public bool Interactive { get; }

    /// <summary>Whether the guest has written to hvc0 yet (its /init is running).</summary>
    public bool ConsoleSeen { get; private set; }

    public void Dispose()
    {
        _stopping = true;
        _stop.Signal();
        _outputThread.Join();
        _inputThread?.Join();
        _console?.Dispose();
        _serial?.Dispose();
        _consoleListener.Dispose();
        _serialListener.Dispose();
        _stop.Dispose();
        _ready.Dispose();
        TerminalGuard.Restore();
    }

    /// <summary>
    /// Accepts QEMU's two connections and copies what the guest writes to stdout. A guest that stops writing costs
    /// nothing; a stdout that fails is a host failure and ends the launcher.
    /// </summary>
    private void CopyOutput()
    {
        byte[] buffer = new byte[16 * 1024];
        Span<bool> ready = stackalloc bool[3];
        try
        {
            while (!_stopping)
            {
                FileDescriptor consoleSource = _console ?? _consoleListener;
                FileDescriptor? serialSource = _serialClosed ? null : _serial ?? _serialListener;
                ready.Clear();
                if (serialSource is null)
                {
                    Poll.WaitReadable([_stop.Descriptor, consoleSource], ready, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    Poll.WaitReadable([_stop.Descriptor, consoleSource, serialSource], ready, Timeout.InfiniteTimeSpan);
                }
                if (ready[0])
                {
                    return;
                }
                if (ready[1] && !CopyFromConsole(buffer))
                {
                    return;
                }
                if (ready[2])
                {
                    CopyFromSerial(buffer);
                }
            }
        }
        catch (SystemCallException e)
        {
            if (!_stopping)
            {
                _owner.Tell(new QemuMessages.ConsoleFailed($"console: {e.Message}"));
            }
        }
    }

    /// <returns>False when QEMU closed the console (it is exiting): nothing more will come.</returns>
    private bool CopyFromConsole(byte[] buffer)
    {
        if (_console is null)
        {
            _console = UnixSocket.Accept(_consoleListener);
            _inputThread = new Thread(CopyInput) { IsBackground = true, Name = "console input" };
            _inputThread.Start();
            return true;
        }
        // A reset connection is QEMU gone (killed with our input unread), not a host failure: the reaper says why.
        int read = ReadFromQemu(_console, buffer);
        if (read == 0)
        {
            return false;
        }
        if (!ConsoleSeen)
        {
            ConsoleSeen = true;
            Interlocked.Exchange(ref _firstOutputAt, Environment.TickCount64);
        }
        SocketAcceptor.WriteAll(_output, buffer.AsSpan(0, read));
        WatchForReady(buffer.AsSpan(0, read));
        return true;
    }

    private void CopyFromSerial(byte[] buffer)
    {
        if (_serial is null)
        {
            _serial = UnixSocket.Accept(_serialListener);
            return;
        }
        int read = ReadFromQemu(_serial, buffer);
        if (read == 0)
        {
            // QEMU closed it; keep serving hvc0 without it.
            _serialClosed = true;
            return;
        }
        if (!ConsoleSeen)
        {
            SocketAcceptor.WriteAll(_output, buffer.AsSpan(0, read));
        }
    }

    /// <summary>End of stream, or 0 when QEMU's end failed: either way QEMU has gone.</summary>
    private static int ReadFromQemu(FileDescriptor socket, byte[] buffer)
    {
        try
        {
            return FileIo.Read(socket, buffer);
        }
        catch (SystemCallException)
        {
            return 0;
        }
    }

    /// <summary>
    /// A tty discards its input when its last opener closes it, and /init opens and closes hvc0 while it starts: what
    /// we sent before its shell holds the console would be lost (and a script would run half). So stdin waits until
    /// the guest says it is ready.
    /// </summary>
    private void WatchForReady(ReadOnlySpan<byte> output)
    {
        if (_ready.IsSet)
        {
            return;
        }
        _recent.AddRange(output);
        if (_recent.Count > 4096)
        {
            _recent.RemoveRange(0, _recent.Count - ReadyLine.Length);
        }
        if (CollectionsMarshal.AsSpan(_recent).IndexOf(ReadyLine) >= 0)
        {
            _recent.Clear();
            _ready.Set();
        }
    }

    /// <summary>True once stdin may flow: the guest is ready, or it has been writing for a while without saying so.</summary>
    private bool WaitUntilReady()
    {
        while (!_ready.Wait(TimeSpan.FromMilliseconds(100)))
        {
            if (_stopping)
            {
                return false;
            }
            long first = Interlocked.Read(ref _firstOutputAt);
            if (first != 0 && Environment.TickCount64 - first > (long)ReadyFallback.TotalMilliseconds)
            {
                return true;
            }
        }
        return !_stopping;
    }

    /// <summary>stdin to hvc0, one read at a time so each ^C arrives alone, as <see cref="ConsoleAbort"/> wants.</summary>
    private void CopyInput()
    {
        byte[] buffer = new byte[4096];
        if (!WaitUntilReady())
        {
            return;
        }
        try
        {
            while (SocketAcceptor.WaitReadableOrStop(_input, _stop))
            {
                int read;
                try
                {
                    read = FileIo.Read(_input, buffer);
                }
                catch (SystemCallException)
                {
                    // A terminal that went away (EIO): the same as the end of input.
                    read = 0;
                }
                if (read == 0)
                {
                    if (!Interactive)
                    {
                        UnixSocket.Send(_console!, [EndOfTransmission]);
                    }
                    return;
                }
                UnixSocket.Send(_console!, buffer.AsSpan(0, read));
                _abort.Saw(read, buffer[0]);
            }
        }
        catch (SystemCallException)
        {
            // QEMU closed the console: it is exiting, and the reaper will say why.
        }
    }
}
