using Akka.Actor;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Launcher;

/// <summary>How the launcher ended: the process exit code and the one line that explains it.</summary>
public sealed record LauncherExit(int ExitCode, string Message)
{
    public const int PoweredOff = 0;
    public const int Failed = 1;
    public const int UsageError = 2;
}

/// <summary>The entry point the host calls: builds the actor tree for one guest in an existing actor system.</summary>
public static class GuestLauncher
{
    /// <summary>
    /// Starts the guest described by <paramref name="settings"/>. The task completes when the guest powers off (0),
    /// dies or a device fails (1), or <paramref name="shutdown"/> is cancelled (0, "stopped").
    /// </summary>
    public static Task<LauncherExit> RunAsync(ActorSystem system, LauncherSettings settings, CancellationToken shutdown)
        => throw new NotImplementedException("integration pending");
}
