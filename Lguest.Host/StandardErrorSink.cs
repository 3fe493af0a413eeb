using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Lguest.Host;

/// <summary>
/// Writes each event to stderr through Serilog's own output-template formatter, one flushed line at a time. It
/// replaces Serilog.Sinks.Console, whose themes, ANSI detection and own renderer cost start-up CPU (10-20 ms of
/// ~180 before the first served vhost-user reply) and memory for output that is plain text here anyway.
/// </summary>
internal sealed class StandardErrorSink(ITextFormatter formatter) : ILogEventSink
{
    private readonly TextWriter _error = Console.Error;

    /// <summary>Actor threads log concurrently: the lock keeps each event's line (and trace) in one piece.</summary>
    public void Emit(LogEvent logEvent)
    {
        lock (_error)
        {
            formatter.Format(logEvent, _error);
            _error.Flush();
        }
    }
}
