using Lguest.Actors.Launcher;

namespace Lguest.Host;

/// <summary>How the launcher ended, handed from the hosted service to Main once the host has stopped.</summary>
internal sealed class LauncherResult
{
    private LauncherExit? _exit;

    public LauncherExit? Exit => Volatile.Read(ref _exit);

    /// <summary>The first outcome wins: a later one is only a consequence of the shutdown the first started.</summary>
    public void Record(LauncherExit exit) => Interlocked.CompareExchange(ref _exit, exit, null);
}
