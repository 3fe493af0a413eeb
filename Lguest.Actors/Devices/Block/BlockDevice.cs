using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Block;

/// <summary>
/// A virtual disk over a file. Each queue has its own thread: the guest asks for a sector and we read or write that
/// position in the file. The seed served each queue on its own thread because anything else was unacceptably slow:
/// the guest waits for a read before running anything else that needs it. With several queues (VIRTIO_BLK_F_MQ) each
/// vCPU submits on a queue of its own, and the queues share only the file, whose pread/pwrite need no lock.
/// </summary>
internal sealed class BlockDevice : VirtioDevice
{
    public const ushort QueueSize = 256;

    private readonly BlockDisk _disk;
    private readonly byte[] _config;
    private readonly IReadOnlyList<QueueDefinition> _queues;

    public BlockDevice(BlockSettings settings, ILoggingAdapter log)
        : this(settings, log, null)
    {
    }

    /// <summary><paramref name="flush"/> replaces fdatasync, so tests can make a flush fail.</summary>
    public BlockDevice(BlockSettings settings, ILoggingAdapter log, Action<FileDescriptor>? flush)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        _disk = new BlockDisk(settings.Path, settings.ReadOnly, log, flush, settings.Size);
        _config = BlockProtocol.Config(_disk.Capacity, settings.NumQueues);
        if (_disk.TrailingBytes != 0)
        {
            log.Warning("block {Path}: size {Size} is not a whole number of sectors; the last {TrailingBytes} bytes are not served",
                settings.Path, _disk.Size, _disk.TrailingBytes);
        }
        OfferedFeatures = (1UL << BlockProtocol.FeatureFlush) | (1UL << BlockProtocol.FeatureSegMax)
            | (settings.ReadOnly ? 1UL << BlockProtocol.FeatureReadOnly : 0)
            | (settings.NumQueues > 1 ? 1UL << BlockProtocol.FeatureMultiQueue : 0);
        _queues = settings.NumQueues == 1
            ? [new QueueDefinition("requests", QueueSize, () => new BlockRequestHandler(_disk, Counters), settings.PollMax)]
            : [.. Enumerable.Range(0, settings.NumQueues).Select(i =>
                new QueueDefinition($"requests{i}", QueueSize, () => new BlockRequestHandler(_disk, Counters), settings.PollMax))];
    }

    public override byte DeviceType => BlockProtocol.DeviceId;

    public override string Name => "block";

    public override ulong OfferedFeatures { get; }

    public override IReadOnlyList<QueueDefinition> Queues => _queues;

    public override ReadOnlyMemory<byte> Config => _config;

    public DeviceCounters Counters { get; } = new("block");

    public override void LogThrough(ILoggingAdapter log) => _disk.Log = log;

    internal BlockDisk Disk => _disk;

    public override string Describe()
    {
        string text = $"virtblock {_disk.Capacity} sectors";
        if (_queues.Count > 1)
        {
            text += $", {_queues.Count} queues";
        }
        if (_disk.ReadOnly)
        {
            text += " (read-only)";
        }
        if (_disk.TrailingBytes != 0)
        {
            text += $" ({_disk.TrailingBytes} trailing bytes not served)";
        }
        return text;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _disk.Dispose();
        }
        base.Dispose(disposing);
    }
}
