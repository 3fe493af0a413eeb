using Akka.Event;

namespace Lguest.Host;

/// <summary>
/// Akka's fallback logger, used before the configured loggers start and again while they shut down (when it
/// takes every event at akka.loglevel, whatever akka.stdout-loglevel says). Akka's own writes to stdout, which
/// belongs to the guest console; this one writes to stderr. Named by akka.stdout-logger-class.
/// </summary>
internal sealed class StandardErrorLogger : MinimalLogger
{
    public const string ConfigValue = "\"Lguest.Host.StandardErrorLogger, Lguest.Host\"";

    protected override void Log(object message) => Console.Error.WriteLine(message);
}
