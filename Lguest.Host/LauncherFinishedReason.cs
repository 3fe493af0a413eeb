using Akka.Actor;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;

namespace Lguest.Host;

/// <summary>
/// Why the actor system is shut down: the launcher ended. Akka logs a CoordinatedShutdown's reason and exit
/// code, and without this it would say "ClrExitReason ... ExitCode:0" even when the guest died.
/// </summary>
internal sealed class LauncherFinishedReason(LauncherExit exit) : CoordinatedShutdown.Reason
{
    public override int ExitCode => exit.ExitCode;

    public override string ToString() => $"launcher finished: {exit.Message}";
}
