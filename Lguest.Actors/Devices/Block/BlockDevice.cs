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
    private readonly Func<BlockWriteRing?> _openWriteRing;
    private bool _ringUnavailableLogged;

    public BlockDevice(BlockSettings settings, ILoggingAdapter log)
        : this(settings, log, null)
    {
    }

    /// <summary><paramref name="flush"/> replaces fdatasync, so tests can make a flush fail.</summary>
    public BlockDevice(BlockSettings settings, ILoggingAdapter log, Action<FileDescriptor>? flush)
        : this(settings, log, flush, null)
    {
    }

    /// <summary>
    /// <paramref name="openWriteRing"/> replaces io_uring_setup for each queue, so tests can take the path of a host
    /// without io_uring (a factory returning null) on a host that has it.
    /// </summary>
    internal BlockDevice(BlockSettings settings, ILoggingAdapter log, Action<FileDescriptor>? flush, Func<BlockWriteRing?>? openWriteRing)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        _openWriteRing = openWriteRing ?? (settings.IoUring ? OpenWriteRing : static () => null);
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
            ? [new QueueDefinition("requests", QueueSize, () => new BlockRequestHandler(_disk, Counters, _openWriteRing()), settings.PollMax)]
            : [.. Enumerable.Range(0, settings.NumQueues).Select(i =>
                new QueueDefinition($"requests{i}", QueueSize, () => new BlockRequestHandler(_disk, Counters, _openWriteRing()), settings.PollMax))];
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

    /// <summary>
    /// Why: each queue gets a ring of its own, as big as the queue, so its writes never wait for a slot. A host
    /// without io_uring (an old kernel, seccomp, the io_uring_disabled sysctl) keeps today's synchronous pwritev, said
    /// once at info: it is a slower disk, not a broken one. Only the read-only disk, which never writes, goes without.
    /// </summary>
    private BlockWriteRing? OpenWriteRing()
    {
        if (_disk.ReadOnly)
        {
            return null;
        }
        IoUring? ring = null;
        try
        {
            ring = IoUring.Create(QueueSize, arenaVectors: 4 * QueueSize);
            return new BlockWriteRing(ring, QueueSize);
        }
        catch (SystemCallException e)
        {
            ring?.Dispose();
            if (!_ringUnavailableLogged)
            {
                _ringUnavailableLogged = true;
                _disk.Log.Info("block {Path}: io_uring is not available ({Reason}); writes go through pwritev one at a time", _disk.Path, Errno.Describe(e.Errno));
            }
            return null;
        }
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
