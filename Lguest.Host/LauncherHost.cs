using Akka.Actor;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Transports.VhostUser;
using Lguest.DeviceTestKit;
using Serilog;

namespace Lguest.Host;

/// <summary>
/// One guest in one actor system, with Serilog on stderr. No Generic Host: a launcher needs a logger, an actor
/// system and SIGINT/SIGTERM, and the host's DI, configuration and hosted-service machinery cost more start-up
/// time and memory than the guest's whole device set-up.
/// </summary>
internal static class LauncherHost
{
    public static async Task<int> RunAsync(CliOutcome.Launch launch)
    {
        using ListeningSockets listening = launch.Listening;
        bool verbose = launch.Settings.Verbose;
        Log.Logger = Logging.Create(verbose);
        ILogger log = Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "lguest");
        LauncherExit exit;
        try
        {
            exit = await RunGuestAsync(launch, verbose).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The actor system itself could not start or stop: still one line, the trace only with --verbose.
            log.Debug(e, "launcher failed");
            exit = new LauncherExit(LauncherExit.Failed, e.Message);
        }

        if (exit.ExitCode == LauncherExit.PoweredOff)
        {
            log.Information("launcher finished with exit code {ExitCode}: {Reason}", exit.ExitCode, exit.Message);
        }
        else
        {
            // The line below says it; at info this would print the same failure twice.
            log.Debug("launcher finished with exit code {ExitCode}: {Reason}", exit.ExitCode, exit.Message);
        }
        await Log.CloseAndFlushAsync().ConfigureAwait(false);

        // Written after Serilog has flushed, so this is the last line on stderr.
        if (exit.ExitCode != LauncherExit.PoweredOff)
        {
            await Console.Error.WriteLineAsync($"lguest: {exit.Message}").ConfigureAwait(false);
        }
        return exit.ExitCode;
    }

    private static async Task<LauncherExit> RunGuestAsync(CliOutcome.Launch launch, bool verbose)
    {
        using var stop = new CancellationTokenSource();
        using var signals = new StopSignals(stop);
        ActorSystem system = ActorSystem.Create("lguest", AkkaSettings.For(launch.Config, verbose));
        LauncherExit? exit = null;
        try
        {
            // A lambda, not the method group: binding TestKitEngines.Create would load Lguest.DeviceTestKit at start-up, and
            // only the simulated and lguest-model engines ever call it.
            exit = await GuestLauncher.RunAsync(
                system, launch.Settings, stop.Token, settings => TestKitEngines.Create(settings), launch.Listening).ConfigureAwait(false);
            return exit;
        }
        finally
        {
            // The launcher's tree has stopped (or never started): now the rest of the actor system, with the reason
            // and exit code the launcher decided, so Akka's own shutdown line does not contradict ours.
            await CoordinatedShutdown.Get(system)
                .Run(new LauncherFinishedReason(exit ?? new LauncherExit(LauncherExit.Failed, "the launcher did not finish")))
                .ConfigureAwait(false);
        }
    }
}
