using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Lguest.Actors.Tests.Support;

/// <summary>Listens to one "Lguest.Devices" queue instrument for one device, as dotnet-counters would.</summary>
internal sealed class QueueMetric : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byQueue = new();

    public QueueMetric(string instrument, string device)
    {
        _listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == "Lguest.Devices" && i.Name == instrument)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? taggedDevice = null;
            string? queue = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "device")
                {
                    taggedDevice = tag.Value as string;
                }
                else if (tag.Key == "queue")
                {
                    queue = tag.Value as string;
                }
            }
            if (taggedDevice == device && queue is not null)
            {
                _byQueue.AddOrUpdate(queue, value, (_, total) => total + value);
            }
        });
        _listener.Start();
    }

    public long Total(string queue) => _byQueue.GetValueOrDefault(queue);

    public void Dispose() => _listener.Dispose();
}
