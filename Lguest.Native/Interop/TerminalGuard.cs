using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>
/// Puts the console's terminal in raw mode while a guest runs and gives it back on every way out: an orderly
/// <see cref="Restore"/>, process exit, an unhandled exception, SIGINT and SIGTERM. Leaving a user's shell without
/// echo because the launcher crashed is the one console bug everybody notices.
///
/// Process-wide on purpose: there is one terminal, and its original settings are remembered once, the first time,
/// so a second guest (a reboot) entering raw mode again can never mistake our raw settings for the user's.
/// Restoring is idempotent and never throws, so every path may call it.
/// </summary>
public static class TerminalGuard
{
    private static readonly Lock Gate = new();
    private static TerminalAttributes s_original;
    private static int s_fd = -1;
    private static bool s_raw;
    private static bool s_hooked;
    // Held for the life of the process: a collected registration unregisters its handler.
    private static PosixSignalRegistration? s_interrupt;
    private static PosixSignalRegistration? s_terminate;

    /// <summary>Whether the terminal is currently in our raw mode.</summary>
    public static bool IsRaw
    {
        get
        {
            lock (Gate)
            {
                return s_raw;
            }
        }
    }

    /// <summary>
    /// Turns off ISIG, ICANON and ECHO on <paramref name="input"/> when it is a terminal. False (and nothing changed)
    /// when it is not: piped input needs no raw mode.
    /// </summary>
    public static bool EnterRaw(FileDescriptor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!Terminal.IsTerminal(input))
        {
            return false;
        }
        using FileDescriptor.Lease fd = input.Borrow();
        lock (Gate)
        {
            if (s_raw)
            {
                return true;
            }
            if (s_fd != fd.Number)
            {
                s_original = Terminal.GetAttributes(fd.Number);
                s_fd = fd.Number;
            }
            HookExits();
            int errno = Terminal.TrySetAttributes(fd.Number, Terminal.Raw(s_original));
            if (errno != 0)
            {
                SystemCall.Throw(errno, $"tcsetattr fd {fd.Number} (raw mode)");
            }
            s_raw = true;
            return true;
        }
    }

    /// <summary>Puts the remembered settings back, if we changed them. Safe to call any number of times, from anywhere.</summary>
    public static void Restore()
    {
        lock (Gate)
        {
            if (!s_raw)
            {
                return;
            }
            s_raw = false;

            // Nothing useful can be done about a failure here: we are usually on our way out.
            _ = Terminal.TrySetAttributes(s_fd, s_original);
        }
    }

    /// <summary>
    /// Registers the exit paths once. The signal handlers only restore and do not cancel, so the host's own SIGINT
    /// and SIGTERM handling (an orderly shutdown) goes ahead as if we were not there.
    /// </summary>
    private static void HookExits()
    {
        if (s_hooked)
        {
            return;
        }
        s_hooked = true;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Restore();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => Restore();
        s_interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Restore());
        s_terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Restore());
    }
}
