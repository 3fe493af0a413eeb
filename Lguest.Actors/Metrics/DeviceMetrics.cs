using System.Diagnostics.Metrics;

namespace Lguest.Actors.Metrics;

/// <summary>
/// The "Lguest.Devices" meter: what every device did, tagged with the device's name, for dotnet-counters or an
/// OpenTelemetry exporter. Counting is lock-free and allocation-free, so it stays on the hot path.
/// </summary>
internal static class DeviceMetrics
{
    public const string MeterName = "Lguest.Devices";

    public static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("lguest.device.requests", "{request}", "Chains completed");

    public static readonly Counter<long> BytesRead = Meter.CreateCounter<long>("lguest.device.bytes_read", "By", "Bytes the device read from its host source into the guest");

    public static readonly Counter<long> BytesWritten = Meter.CreateCounter<long>("lguest.device.bytes_written", "By", "Bytes the device wrote from the guest to its host sink");

    public static readonly Counter<long> GuestErrors = Meter.CreateCounter<long>("lguest.device.guest_errors", "{request}", "Bad requests answered with an error status");

    public static readonly Counter<long> Dropped = Meter.CreateCounter<long>("lguest.device.dropped", "{frame}", "Frames dropped (too short, too long, refused by the host)");

    public static readonly Counter<long> IoErrors = Meter.CreateCounter<long>("lguest.device.io_errors", "{request}", "Host I/O failures answered to the guest with an error status");

    public static readonly Counter<long> Kicks = Meter.CreateCounter<long>("lguest.queue.kicks", "{kick}", "Notifications from the guest");

    public static readonly Counter<long> Interrupts = Meter.CreateCounter<long>("lguest.queue.interrupts", "{interrupt}", "Interrupts sent to the guest");
}

/// <summary>
/// One device's counters: each records to <see cref="DeviceMetrics"/> with the device tag and keeps a running total,
/// which is what tests and --verbose read.
/// </summary>
internal sealed class DeviceCounters
{
    private readonly KeyValuePair<string, object?> _tag;
    private long _requests;
    private long _bytesRead;
    private long _bytesWritten;
    private long _guestErrors;
    private long _dropped;
    private long _ioErrors;

    public DeviceCounters(string device) => _tag = new("device", device);

    public long Requests => Interlocked.Read(ref _requests);

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public long GuestErrors => Interlocked.Read(ref _guestErrors);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long IoErrors => Interlocked.Read(ref _ioErrors);

    public void Request()
    {
        Interlocked.Increment(ref _requests);
        DeviceMetrics.Requests.Add(1, _tag);
    }

    public void Read(long bytes)
    {
        Interlocked.Add(ref _bytesRead, bytes);
        DeviceMetrics.BytesRead.Add(bytes, _tag);
    }

    public void Written(long bytes)
    {
        Interlocked.Add(ref _bytesWritten, bytes);
        DeviceMetrics.BytesWritten.Add(bytes, _tag);
    }

    public void GuestError()
    {
        Interlocked.Increment(ref _guestErrors);
        DeviceMetrics.GuestErrors.Add(1, _tag);
    }

    public void Drop()
    {
        Interlocked.Increment(ref _dropped);
        DeviceMetrics.Dropped.Add(1, _tag);
    }

    public void IoError()
    {
        Interlocked.Increment(ref _ioErrors);
        DeviceMetrics.IoErrors.Add(1, _tag);
    }
}

/// <summary>
/// Kicks and interrupts of one queue, for the queue actor to count as it wakes and signals (the handlers never
/// see either).
/// </summary>
internal sealed class QueueCounters
{
    private readonly KeyValuePair<string, object?> _device;
    private readonly KeyValuePair<string, object?> _queue;
    private long _kicks;
    private long _interrupts;

    public QueueCounters(string device, string queue)
    {
        _device = new("device", device);
        _queue = new("queue", queue);
    }

    public long Kicks => Interlocked.Read(ref _kicks);

    public long Interrupts => Interlocked.Read(ref _interrupts);

    public void Kicked()
    {
        Interlocked.Increment(ref _kicks);
        DeviceMetrics.Kicks.Add(1, _device, _queue);
    }

    public void Interrupted()
    {
        Interlocked.Increment(ref _interrupts);
        DeviceMetrics.Interrupts.Add(1, _device, _queue);
    }
}
