using Akka.Hosting;
using Lguest.Actors.Configuration;
using Lguest.Actors.Launcher;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;

namespace Lguest.Host;

/// <summary>The Generic Host around one guest: Serilog on stderr, the actor system, and the launcher service.</summary>
internal static class LauncherHost
{
    /// <summary>
    /// Akka's fallback logger must not write to stdout, and Akka must not start its own shutdown on SIGTERM: the
    /// host stops the launcher first (hosted services stop in reverse order) and only then the actor system, so
    /// the guest's actors are never torn down underneath it.
    /// </summary>
    private static readonly string HostOwnedAkkaSettings = $"""
        akka.stdout-logger-class = {StandardErrorLogger.ConfigValue}
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """;

    public static async Task<int> RunAsync(CliOutcome.Launch launch)
    {
        bool verbose = launch.Settings.Verbose;
        LauncherResult result = new();
        try
        {
            using (IHost host = Build(launch, result, verbose))
            {
                await host.RunAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // The actor system or the host itself could not start or stop.
            result.Record(new LauncherExit(LauncherExit.Failed, e.Message));
        }

        // Written after the host (and so Serilog) is gone, so this is the last line on stderr.
        LauncherExit exit = result.Exit ?? new LauncherExit(LauncherExit.Failed, "the host stopped before the launcher finished");
        if (exit.ExitCode != LauncherExit.PoweredOff)
        {
            await Console.Error.WriteLineAsync($"lguest: {exit.Message}").ConfigureAwait(false);
        }
        return exit.ExitCode;
    }

    private static IHost Build(CliOutcome.Launch launch, LauncherResult result, bool verbose)
    {
        // DisableDefaults: no appsettings.json, environment or argument configuration, and no console logger on
        // stdout; the console lifetime (SIGINT/SIGTERM -> StopApplication) is registered regardless.
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(
            new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace); // Serilog's levels decide.
        builder.Logging.AddSerilog(Logging.Create(verbose), dispose: true);
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);

        builder.Services.AddSingleton(launch.Settings);
        builder.Services.AddSingleton(result);
        builder.Services.AddAkka("lguest", (akka, _) =>
        {
            akka.AddHocon(launch.Config, HoconAddMode.Prepend)
                .AddHocon(HostOwnedAkkaSettings, HoconAddMode.Prepend)
                .AddHocon(LauncherSettingsReader.Reference, HoconAddMode.Append)
                .ConfigureLoggers(setup =>
                {
                    setup.LogLevel = Logging.AkkaLevel(verbose);
                    setup.ClearLoggers();
                    setup.AddLoggerFactory();
                });
        });
        // After AddAkka, so the actor system is up before the launcher asks for it.
        builder.Services.AddHostedService<LauncherService>();
        return builder.Build();
    }
}
