using Lguest.Native.Interop;

namespace Lguest.Native.VhostUser;

/// <summary>
/// The shared inflight region of one connection: created by this back end for GET_INFLIGHT_FD, or handed back by the
/// front end with SET_INFLIGHT_FD after a reconnect. The front end keeps the memfd across our restarts; that is what
/// lets a new process learn which requests the old one took and never answered.
/// </summary>
public sealed class VhostUserInflightRegion : IDisposable
{
    /// <summary>The largest split ring (and so the largest queue region) the protocol allows.</summary>
    public const int MaxQueueSize = 32768;

    private readonly MemoryMapping _mapping;

    private VhostUserInflightRegion(MemoryMapping mapping, ushort numQueues, ushort queueSize)
    {
        _mapping = mapping;
        NumQueues = numQueues;
        QueueSize = queueSize;
    }

    public ushort NumQueues { get; }

    public ushort QueueSize { get; }

    public ulong Size => _mapping.Length;

    /// <summary>Bytes needed for <paramref name="numQueues"/> queue regions of <paramref name="queueSize"/> entries.</summary>
    public static ulong RequiredSize(ushort numQueues, ushort queueSize) => numQueues * InflightQueueRegion.QueueRegionSize(queueSize);

    /// <summary>
    /// Why: GET_INFLIGHT_FD. A new zeroed memfd, sealed so that neither side can shrink it under the other's mapping
    /// (the front end checks nothing, but our own SET_INFLIGHT_FD check wants the seal when the fd comes back).
    /// Returns the region and the fd to send; the caller owns both.
    /// </summary>
    public static (VhostUserInflightRegion Region, FileDescriptor Fd) Create(ushort numQueues, ushort queueSize, int deviceQueues)
    {
        Check(VhostUserRequest.GetInflightFd, numQueues, queueSize, deviceQueues);
        ulong size = RequiredSize(numQueues, queueSize);
        FileDescriptor fd = MemFd.Create("lguest-inflight", size);
        try
        {
            return (new VhostUserInflightRegion(MemoryMapping.MapShared(fd, 0, size), numQueues, queueSize), fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Why: SET_INFLIGHT_FD. The fd and every number beside it are the front end's, so they get the checks a memory
    /// region gets: a memfd that cannot shrink, a layout that fits the device, and a range inside the file. Only the
    /// bytes the layout needs are mapped, whatever mmap_size claims.
    /// </summary>
    public static VhostUserInflightRegion Adopt(FileDescriptor fd, VhostUserInflight description, int deviceQueues)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentNullException.ThrowIfNull(description);
        Check(VhostUserRequest.SetInflightFd, description.NumQueues, description.QueueSize, deviceQueues);
        ulong needed = RequiredSize(description.NumQueues, description.QueueSize);
        if (description.MmapSize < needed)
        {
            throw Refuse($"SET_INFLIGHT_FD mmap_size 0x{description.MmapSize:x} is smaller than the 0x{needed:x} bytes {description.NumQueues} queues of {description.QueueSize} need");
        }
        if (SharedMemoryCheck.Refusal(fd) is { } unsafeFd)
        {
            throw Refuse($"SET_INFLIGHT_FD: {unsafeFd}");
        }
        ulong fileSize = (ulong)Math.Max(0, FileStatus.SizeOf(fd));
        if (description.MmapOffset > fileSize || needed > fileSize - description.MmapOffset)
        {
            throw Refuse($"SET_INFLIGHT_FD mmap_offset 0x{description.MmapOffset:x} + 0x{needed:x} bytes runs past the end of its file (0x{fileSize:x} bytes)");
        }
        try
        {
            return new VhostUserInflightRegion(MemoryMapping.MapShared(fd, description.MmapOffset, needed), description.NumQueues, description.QueueSize);
        }
        catch (Exception e) when (e is SystemCallException or ArgumentOutOfRangeException)
        {
            throw Refuse($"SET_INFLIGHT_FD: mapping 0x{needed:x} bytes at offset 0x{description.MmapOffset:x} failed: {e.Message}");
        }
    }

    /// <summary>What GET_INFLIGHT_FD answers: the region from offset 0 of the fd sent with it.</summary>
    public VhostUserInflight Description => new(Size, 0, NumQueues, QueueSize);

    /// <summary>
    /// The tracker for ring <paramref name="queue"/> of <paramref name="ringSize"/> entries, or null when the region
    /// was laid out for fewer queues or smaller rings: such a ring runs untracked, as it would without the feature.
    /// </summary>
    public InflightQueueRegion? TrackerFor(int queue, ushort ringSize)
    {
        if (queue < 0 || queue >= NumQueues || ringSize == 0 || ringSize > QueueSize)
        {
            return null;
        }
        ulong offset = (ulong)queue * InflightQueueRegion.QueueRegionSize(QueueSize);
        return new InflightQueueRegion(_mapping.Address + (nint)offset, ringSize);
    }

    public void Dispose() => _mapping.Dispose();

    private static void Check(VhostUserRequest request, ushort numQueues, ushort queueSize, int deviceQueues)
    {
        if (numQueues == 0 || numQueues > deviceQueues)
        {
            throw Refuse($"{request} asks for {numQueues} queues; the device has {deviceQueues}");
        }
        if (queueSize == 0 || queueSize > MaxQueueSize)
        {
            throw Refuse($"{request} asks for queues of {queueSize} entries; a split ring has 1 to {MaxQueueSize}");
        }
    }

    private static VhostUserProtocolException Refuse(string message) => new(VhostUserViolation.InflightInvalid, message);
}
