using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// termios on one descriptor. UNIX tty handling is what makes a console uglier than it needs to be: the guest wants
/// every keystroke as it is typed, unechoed, with ^C delivered as a byte rather than turned into a signal.
/// </summary>
public static unsafe class Terminal
{
    /// <summary>True when <paramref name="descriptor"/> is a terminal (a pipe or file is not, and needs no raw mode).</summary>
    public static bool IsTerminal(FileDescriptor descriptor)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        return Linux.isatty(fd.Number) == 1;
    }

    internal static TerminalAttributes GetAttributes(int fd)
    {
        TerminalAttributes attributes;
        long r = SystemCall.Uninterrupted(new Interruptible.GetTerminalAttributes(fd, &attributes));
        SystemCall.ThrowIfFailed(r, $"tcgetattr fd {fd}");
        return attributes;
    }

    /// <summary>tcsetattr(TCSANOW); 0 or the errno, so a restore on the way out can carry on regardless.</summary>
    internal static int TrySetAttributes(int fd, TerminalAttributes attributes)
    {
        long r = SystemCall.Uninterrupted(new Interruptible.SetTerminalAttributes(fd, LibC.TCSANOW, &attributes));
        return SystemCall.ErrnoOf(r);
    }

    /// <summary>The seed's raw mode: no signals from the keyboard, no line editing, no echo; output untouched.</summary>
    internal static TerminalAttributes Raw(TerminalAttributes original)
    {
        TerminalAttributes raw = original;
        raw.LocalFlags &= ~(LibC.ISIG | LibC.ICANON | LibC.ECHO);
        return raw;
    }

    /// <summary>
    /// A new pseudo-terminal pair (/dev/ptmx and its /dev/pts slave): a real terminal to try raw mode on without
    /// touching the user's.
    /// </summary>
    internal static (FileDescriptor Master, FileDescriptor Slave) OpenPseudoTerminal()
    {
        const nuint TIOCGPTN = 0x80045430;
        const nuint TIOCSPTLCK = 0x40045431;
        FileDescriptor master = FileDescriptor.Open("/dev/ptmx", LibC.O_RDWR);
        try
        {
            int unlock = 0;
            int number = 0;
            SystemCall.ThrowIfFailed(Linux.ioctl(master.Number, unchecked((int)TIOCSPTLCK), &unlock), "unlock the pseudo-terminal");
            SystemCall.ThrowIfFailed(Linux.ioctl(master.Number, unchecked((int)TIOCGPTN), &number), "number the pseudo-terminal");
            return (master, FileDescriptor.Open($"/dev/pts/{number}", LibC.O_RDWR));
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }
}
