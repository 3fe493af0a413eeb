namespace Lguest.Actors.Engines.Qemu;

/// <summary>What the QEMU engine's threads (reaper, QMP reader, console pumps) Tell the guest actor; they decide nothing.</summary>
internal static class QemuMessages
{
    /// <summary>QMP is negotiated and the guest was told to run (QEMU starts paused with -S).</summary>
    public sealed record QmpReady(string Version);

    /// <summary>One QMP event: its name and, for SHUTDOWN, data.reason ("guest-shutdown", "guest-reset", ...).</summary>
    public sealed record QmpEvent(string Name, string? Reason);

    /// <summary>The QMP connection ended: every event QEMU sent before it has been Told already.</summary>
    public sealed record QmpClosed(string Reason);

    /// <summary>The QEMU process has exited and been reaped.</summary>
    public sealed record QemuExited(int Pid, int Status, string StderrTail);

    /// <summary>A line QEMU wrote to its stderr.</summary>
    public sealed record QemuStderr(string Line);

    /// <summary>Every device socket is listening: QEMU may start.</summary>
    public sealed record StartWhenReady;

    /// <summary>Three ^C within a second on the console: stop the launcher as SIGINT would.</summary>
    public sealed record ConsoleAborted;

    /// <summary>The console failed on the host side (stdout gone): fatal, as the seed's console was.</summary>
    public sealed record ConsoleFailed(string Reason);
}
