using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Devices.Console;

/// <summary>Raw mode on a real terminal: the slave side of a fresh pseudo-terminal, so the user's tty is never touched.</summary>
[Collection(TerminalGuardTests.Collection)]
public sealed class TerminalGuardTests
{
    /// <summary>The terminal guard is process-wide: tests that look at it must not run alongside each other.</summary>
    public const string Collection = "terminal guard";

    [Fact]
    public void Raw_mode_clears_signals_line_editing_and_echo_and_restore_puts_them_back_once()
    {
        (FileDescriptor master, FileDescriptor slave) = Terminal.OpenPseudoTerminal();
        using FileDescriptor m = master;
        using FileDescriptor s = slave;
        uint cooked = Terminal.GetAttributes(slave.Number).LocalFlags;
        Assert.NotEqual(0u, cooked & (LibC.ISIG | LibC.ICANON | LibC.ECHO));

        Assert.True(TerminalGuard.EnterRaw(slave));
        Assert.True(TerminalGuard.IsRaw);
        Assert.Equal(cooked & ~(LibC.ISIG | LibC.ICANON | LibC.ECHO), Terminal.GetAttributes(slave.Number).LocalFlags);

        // Entering again must not mistake our raw settings for the user's.
        Assert.True(TerminalGuard.EnterRaw(slave));
        TerminalGuard.Restore();
        Assert.False(TerminalGuard.IsRaw);
        Assert.Equal(cooked, Terminal.GetAttributes(slave.Number).LocalFlags);

        TerminalGuard.Restore();
        Assert.Equal(cooked, Terminal.GetAttributes(slave.Number).LocalFlags);
    }
}
