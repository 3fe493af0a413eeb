using Akka.Event;
using Serilog;
using Serilog.Events;
using AkkaLogEvent = Akka.Event.LogEvent;

namespace Lguest.Host;

/// <summary>
/// Akka's fallback logger, used before the configured loggers start and again while they shut down (when it
/// takes every event at akka.loglevel, whatever akka.stdout-loglevel says). Akka's own writes to stdout, which
/// belongs to the guest console, in a format of its own; this one hands each event to Serilog, so a failure
/// logged during shutdown reads like every other line. Named by akka.stdout-logger-class.
/// </summary>
internal sealed class StandardErrorLogger : MinimalLogger
{
    public const string ConfigValue = "\"Lguest.Host.StandardErrorLogger, Lguest.Host\"";

    protected override void Log(object message)
    {
        if (message is not AkkaLogEvent e)
        {
            Console.Error.WriteLine(message);
            return;
        }
        LogEventLevel level = e.LogLevel() switch
        {
            LogLevel.DebugLevel => LogEventLevel.Debug,
            LogLevel.InfoLevel => LogEventLevel.Information,
            LogLevel.WarningLevel => LogEventLevel.Warning,
            _ => LogEventLevel.Error,
        };
        ILogger logger = Serilog.Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, e.LogClass?.FullName ?? "Akka")
            .ForContext(Logging.LogSource, e.LogSource);
        if (e.Message is LogMessage template)
        {
            // The template and its arguments, as Akka.Logger.Serilog passes them, so the line renders the same.
            logger.Write(level, e.Cause, template.Format, template.Parameters().ToArray());
        }
        else
        {
            logger.Write(level, e.Cause, "{Message:l}", e.Message?.ToString());
        }
    }
}
