using Lguest.Actors.Configuration;
using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Rng;

/// <summary>
/// A "hardware" random number generator: the guest offers empty buffers and we fill them from the host's entropy
/// source. The usual case is a guest that wants nothing while the source always has plenty, the reverse of the
/// console, so there is no source to watch: a kick means work.
/// </summary>
internal sealed class RngDevice : VirtioDevice
{
    public const byte Id = 4;
    public const ushort QueueSize = 256;

    private readonly FileDescriptor _source;
    private readonly int _maxBytesPerRequest;
    private readonly IReadOnlyList<QueueDefinition> _queues;

    public RngDevice(RngSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.MaxBytesPerRequest <= 0)
        {
            throw new ConfigurationException("max-bytes-per-request", $"must be positive, not {settings.MaxBytesPerRequest}");
        }
        _maxBytesPerRequest = settings.MaxBytesPerRequest;
        try
        {
            _source = FileDescriptor.Open(settings.Source, LibC.O_RDONLY);
        }
        catch (SystemCallException e)
        {
            throw new HostDeviceException($"rng: cannot open its source {settings.Source}: {Errno.Describe(e.Errno)}", e);
        }
        SourcePath = settings.Source;
        _queues = [new QueueDefinition("requests", QueueSize, () => new RngHandler(_source, SourcePath, _maxBytesPerRequest, Counters))];
    }

    public override byte DeviceType => Id;

    public override string Name => "rng";

    public override ulong OfferedFeatures => 0;

    public override IReadOnlyList<QueueDefinition> Queues => _queues;

    public string SourcePath { get; }

    public DeviceCounters Counters { get; } = new("rng");

    public override string Describe() => "rng";

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _source.Dispose();
        }
        base.Dispose(disposing);
    }
}
