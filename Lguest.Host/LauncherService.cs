using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Launcher;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lguest.Host;

/// <summary>
/// Runs the one guest for the life of the host, and stops the host when the guest is done. SIGINT or SIGTERM
/// stop the host, which cancels the token RunAsync was given.
/// </summary>
internal sealed partial class LauncherService : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly LauncherSettings _settings;
    private readonly LauncherResult _result;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<LauncherService> _logger;

    public LauncherService(
        IServiceProvider services, LauncherSettings settings, LauncherResult result, IHostApplicationLifetime lifetime,
        ILogger<LauncherService> logger)
    {
        _services = services;
        _settings = settings;
        _result = result;
        _lifetime = lifetime;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Resolved here, not in the constructor: Akka.Hosting's hosted service, registered before this one,
            // has started the actor system by now.
            ActorSystem system = _services.GetRequiredService<ActorSystem>();
            LauncherExit exit = await GuestLauncher.RunAsync(system, _settings, stoppingToken).ConfigureAwait(false);
            _result.Record(exit);
            LogFinished(exit.ExitCode, exit.Message);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _result.Record(new LauncherExit(LauncherExit.PoweredOff, "stopped"));
        }
        catch (Exception e)
        {
            LogFailed(e);
            _result.Record(new LauncherExit(LauncherExit.Failed, e.Message));
        }
        finally
        {
            _lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "launcher finished with exit code {ExitCode}: {Reason}")]
    private partial void LogFinished(int exitCode, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "launcher failed")]
    private partial void LogFailed(Exception exception);
}
