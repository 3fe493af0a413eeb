using Serilog;
using Serilog.Events;

namespace Lguest.Host;

/// <summary>
/// All logging goes to stderr: stdout belongs to the guest's console, and anything else written there would
/// corrupt it.
/// </summary>
internal static class Logging
{
    private const string Template = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static Serilog.Core.Logger Create(bool verbose) =>
        new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            // The Generic Host's own start/stop chatter is noise next to the guest; its warnings still show.
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .WriteTo.Console(outputTemplate: Template, standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: null)
            .CreateLogger();

    public static Akka.Event.LogLevel AkkaLevel(bool verbose) =>
        verbose ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.InfoLevel;
}
