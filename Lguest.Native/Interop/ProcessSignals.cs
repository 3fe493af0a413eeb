using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>Signals the launcher sends itself.</summary>
public static class ProcessSignals
{
    /// <summary>
    /// SIGINT to our own process, exactly as a ^C at a cooked terminal would: whatever the host does on ^C (an orderly
    /// shutdown that restores the terminal) happens, and nothing else in the process group is touched.
    /// </summary>
    public static void InterruptSelf()
        => SystemCall.ThrowIfFailed(Linux.kill(Linux.getpid(), LibC.SIGINT), "kill(self, SIGINT)");
}
