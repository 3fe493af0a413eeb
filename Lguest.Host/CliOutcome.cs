using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Transports.VhostUser;

namespace Lguest.Host;

/// <summary>What the command line asked for: run a guest, or exit now (help shown, or a usage/config error reported).</summary>
internal abstract record CliOutcome
{
    private CliOutcome()
    {
    }

    /// <param name="Config">The whole config to give the actor system (the lguest section included).</param>
    /// <param name="Settings">The lguest section, already read and validated.</param>
    /// <param name="Listening">The vhost-user sockets, already listening (none for the other engines); the host disposes them.</param>
    public sealed record Launch(Config Config, LauncherSettings Settings, ListeningSockets Listening) : CliOutcome;

    public sealed record Exit(int Code) : CliOutcome;
}
