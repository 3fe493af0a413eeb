using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Lguest.Host;

/// <summary>
/// The one Serilog configuration of the process. All logging goes to stderr: stdout belongs to the guest's console,
/// and anything else written there would corrupt it.
/// </summary>
internal static class Logging
{
    /// <summary>The property Akka.Logger.Serilog (and <see cref="StandardErrorLogger"/>) give the path of the actor an event is about.</summary>
    public const string LogSource = "LogSource";

    /// <summary>
    /// Without --verbose an exception shows as its message only: a user reads one line, not a stack trace. ":l" renders
    /// strings and enums bare; Serilog's own formatter with ":lj" would quote an enum, as JSON does.
    /// </summary>
    private const string VerboseTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:l}{NewLine}{Exception}";
    private const string Template = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:l}{Cause}{NewLine}";

    public static Logger Create(bool verbose)
    {
        LoggerConfiguration configuration = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            // Akka's own "CoordinatedShutdown invoked due to ..." is start/stop chatter: only with --verbose.
            .MinimumLevel.Override("Akka.Actor.CoordinatedShutdown", verbose ? LogEventLevel.Debug : LogEventLevel.Warning)
            .Enrich.With<ActorPathAsSourceContext>();
        if (!verbose)
        {
            configuration = configuration.Enrich.With<CauseEnricher>();
        }
        return configuration
            .WriteTo.Sink(new StandardErrorSink(new MessageTemplateTextFormatter(verbose ? VerboseTemplate : Template)))
            .CreateLogger();
    }

    /// <summary>
    /// Akka.Logger.Serilog names an event by the C# class that logged it; a reader needs the actor (which guest,
    /// which device, which connection), so the actor path is the source context.
    /// </summary>
    private sealed class ActorPathAsSourceContext : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            if (logEvent.Properties.TryGetValue(LogSource, out LogEventPropertyValue? source)
                && source is ScalarValue { Value: string path } && path.Length > 0)
            {
                logEvent.AddOrUpdateProperty(propertyFactory.CreateProperty(Constants.SourceContextPropertyName, AsPath(path)));
            }
        }
    }

    /// <summary>
    /// The actor system's own logger (system.Log, which some factories are handed) names itself "ActorSystem(lguest)";
    /// written as the system's root path, every Akka line reads the same way.
    /// </summary>
    private static string AsPath(string source) =>
        source.StartsWith("ActorSystem(", StringComparison.Ordinal) && source.EndsWith(')')
            ? $"akka://{source["ActorSystem(".Length..^1]}"
            : source;

    /// <summary>Adds ": message" of an event's innermost exception as {Cause}, unless the message already says it.</summary>
    private sealed class CauseEnricher : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            Exception? e = logEvent.Exception;
            while (e?.InnerException is { } inner)
            {
                e = inner;
            }
            string cause = e is null || logEvent.RenderMessage(null).Contains(e.Message, StringComparison.Ordinal) ? "" : $": {e.Message}";
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("Cause", cause));
        }
    }
}
