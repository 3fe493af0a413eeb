using Akka.Configuration;
using Lguest.Actors.Configuration;

namespace Lguest.Host;

/// <summary>The actor system's config: the user's file, then what the host owns, then the runtime's reference.conf.</summary>
internal static class AkkaSettings
{
    /// <summary>
    /// Akka's events go to Serilog (configured once, in <see cref="Logging"/>), which names each line by the actor
    /// that logged it; Serilog's formatter renders both named ("{Device}") and positional ("{0}") templates.
    /// Akka's fallback logger must not write to stdout, which is the guest's console. Akka must not start its own
    /// shutdown on SIGTERM: <see cref="StopSignals"/> stops the launcher first, and only then the actor system, so
    /// the guest's actors are never torn down underneath it.
    /// </summary>
    private static readonly string HostOwned = $$"""
        akka {
          loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
          logger-formatter = "Akka.Logger.Serilog.SerilogLogMessageFormatter, Akka.Logger.Serilog"
          stdout-logger-class = {{StandardErrorLogger.ConfigValue}}
          stdout-loglevel = WARNING
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          actor.serializers.json = {{LocalOnlySerializer.ConfigValue}}
        }
        """;

    public static Config For(Config user, bool verbose) =>
        ConfigurationFactory.ParseString($"akka.loglevel = {(verbose ? "DEBUG" : "INFO")}")
            .WithFallback(ConfigurationFactory.ParseString(HostOwned))
            .WithFallback(user)
            .WithFallback(LauncherSettingsReader.Reference);
}
