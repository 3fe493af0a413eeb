using System.Text;
using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>What a block request came back with: the status byte, the bytes read and the used length reported.</summary>
public sealed record BlockResult(byte Status, byte[] Data, uint UsedLength)
{
    public bool Ok => Status == BlockDriver.StatusOk;
}

/// <summary>Fault injection: how a request describes its status byte.</summary>
public enum BlockStatusDescriptor
{
    /// <summary>A one-byte device-writable descriptor, last in the chain: what every honest driver sends.</summary>
    Writable,

    /// <summary>No status descriptor at all: the device has nowhere to answer.</summary>
    Missing,

    /// <summary>The status byte in a device-readable descriptor: the device cannot write its answer.</summary>
    ReadOnly,
}

/// <summary>
/// virtio_blk, one request at a time: a 16-byte header the device reads, data segments of at most a page (as the
/// block layer's scatterlists are), and a status byte the device writes last. Tests may split the header across two
/// descriptors (<see cref="SplitHeader"/>) or send requests through an indirect table (<see cref="UseIndirect"/>),
/// both of which Linux does and a device must accept.
/// </summary>
public sealed class BlockDriver
{
    public const int SectorSize = 512;
    public const byte StatusOk = 0;
    public const byte StatusIoError = 1;
    public const byte StatusUnsupported = 2;
    public const int FeatureSizeMax = 1;
    public const int FeatureSegMax = 2;
    public const int FeatureReadOnly = 5;
    public const int FeatureBlockSize = 6;
    public const int FeatureFlush = 9;

    /// <summary>The most data one request carries: 64 KiB, 16 page-sized segments.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    public const ulong DefaultFeatures = VirtioNumbers.RingFeatures
        | (1UL << FeatureSizeMax) | (1UL << FeatureSegMax) | (1UL << FeatureReadOnly) | (1UL << FeatureBlockSize) | (1UL << FeatureFlush);

    public const uint TypeIn = 0;
    public const uint TypeOut = 1;
    public const uint TypeFlush = 4;
    public const uint TypeGetId = 8;
    private const int HeaderSize = 16;
    private const int IdBytes = 20;
    private const int Page = 4096;
    private const int MaxSegments = MaxRequestBytes / Page;

    private readonly BoundDevice _bound;
    private readonly ulong _header;
    private readonly ulong _status;
    private readonly ulong _data;
    private readonly ulong _table;

    public BlockDriver(ISimulatedHypervisor hv, GuestPageAllocator heap, ProbedDevice device, TimeSpan timeout, ulong supportedFeatures = DefaultFeatures)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentNullException.ThrowIfNull(device);
        _bound = device.Bind(hv, supportedFeatures, 1, timeout);
        Queue = _bound.Queues[0];
        Capacity = device.ReadConfig<ulong>(0);
        SegmentMax = _bound.Has(FeatureSegMax) ? device.ReadConfig<uint>(12) : null;
        _header = heap.Allocate(HeaderSize);
        _status = heap.Allocate(1);
        _data = heap.Allocate(MaxRequestBytes, Page);
        _table = heap.Allocate(16UL * (MaxSegments + 3));
        _bound.Ready();
    }

    public ProbedDevice Device => _bound.Device;

    public ulong Features => _bound.Features;

    public GuestVirtqueue Queue { get; }

    /// <summary>Sectors of 512 bytes, from config.</summary>
    public ulong Capacity { get; }

    /// <summary>The device's seg_max when it offered SEG_MAX: data segments per request may not exceed it.</summary>
    public uint? SegmentMax { get; }

    public bool ReadOnly => _bound.Has(FeatureReadOnly);

    /// <summary>Send the header as two 8-byte descriptors (type+reserved, sector).</summary>
    public bool SplitHeader { get; set; }

    /// <summary>Send each request through an indirect table (needs INDIRECT_DESC accepted).</summary>
    public bool UseIndirect { get; set; }

    /// <summary>Fault injection: how the next requests describe their status byte (see <see cref="GuestFaults"/>).</summary>
    public BlockStatusDescriptor StatusDescriptor { get; set; } = BlockStatusDescriptor.Writable;

    public BlockResult Read(ulong sector, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return Submit(TypeIn, sector, count * SectorSize, writable: true, ReadOnlySpan<byte>.Empty);
    }

    public byte Write(ulong sector, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data.Length % SectorSize != 0)
        {
            throw new ArgumentException($"writes are whole sectors; {data.Length} bytes is not", nameof(data));
        }
        return Submit(TypeOut, sector, data.Length, writable: false, data).Status;
    }

    public byte Flush() => Submit(TypeFlush, 0, 0, writable: false, ReadOnlySpan<byte>.Empty).Status;

    /// <summary>GET_ID: the device's serial, up to 20 bytes, NUL-padded; null unless the status is OK.</summary>
    public (byte Status, string? Id) GetId()
    {
        BlockResult result = Submit(TypeGetId, 0, IdBytes, writable: true, ReadOnlySpan<byte>.Empty);
        if (!result.Ok)
        {
            return (result.Status, null);
        }
        int end = Array.IndexOf(result.Data, (byte)0);
        return (result.Status, Encoding.ASCII.GetString(result.Data, 0, end < 0 ? result.Data.Length : end));
    }

    /// <summary>
    /// Fault injection: a request of any <paramref name="type"/> (the known ones or not), with
    /// <paramref name="bytes"/> of data the device reads (<paramref name="writable"/> false, zeroes unless
    /// <paramref name="payload"/> is given) or writes; waits for the answer.
    /// </summary>
    public BlockResult Request(uint type, ulong sector, int bytes, bool writable, ReadOnlySpan<byte> payload = default)
        => Submit(type, sector, bytes, writable, payload);

    /// <summary>
    /// Fault injection: puts a request on the ring and kicks, without waiting for an answer (which a malformed
    /// request never gets); returns its head.
    /// </summary>
    public ushort Post(uint type, ulong sector, int bytes, bool writable, ReadOnlySpan<byte> payload = default)
    {
        ushort sent = Enqueue(type, sector, bytes, writable, payload);
        Queue.Kick();
        return sent;
    }

    private BlockResult Submit(uint type, ulong sector, int bytes, bool writable, ReadOnlySpan<byte> payload)
    {
        ushort sent = Post(type, sector, bytes, writable, payload);
        (ushort head, uint length) = Queue.WaitForUsedOrFail($"block request type {type} at sector {sector}");
        if (head != sent)
        {
            throw new SimulatedGuestException($"{Queue.Name}: device completed buffer {head}, only {sent} was in flight");
        }
        byte status = GuestMemory().Read<byte>(_status);
        byte[] data = writable ? new byte[bytes] : [];
        if (writable)
        {
            GuestMemory().Read(_data, data);
        }
        return new BlockResult(status, data, length);
    }

    private ushort Enqueue(uint type, ulong sector, int bytes, bool writable, ReadOnlySpan<byte> payload)
    {
        if (bytes > MaxRequestBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"one request carries at most {MaxRequestBytes} bytes");
        }
        int segments = (bytes + Page - 1) / Page;
        if (SegmentMax is uint max && segments > max)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"{segments} segments exceed the device's seg_max {max}");
        }
        GuestMemory().Write(_header, type);
        GuestMemory().Write(_header + 4, 0u);
        GuestMemory().Write(_header + 8, sector);
        // A status the device never wrote must not read as OK.
        GuestMemory().Write(_status, (byte)0xff);
        if (payload.Length > bytes)
        {
            throw new ArgumentException($"a {payload.Length}-byte payload in a {bytes}-byte request", nameof(payload));
        }
        if (!payload.IsEmpty)
        {
            GuestMemory().Write(_data, payload);
        }
        else if (bytes > 0)
        {
            GuestMemory().Clear(_data, (ulong)bytes);
        }

        var chain = new List<DriverBuffer>(segments + 3);
        if (SplitHeader)
        {
            chain.Add(new DriverBuffer(_header, 8, false));
            chain.Add(new DriverBuffer(_header + 8, 8, false));
        }
        else
        {
            chain.Add(new DriverBuffer(_header, HeaderSize, false));
        }
        for (int offset = 0; offset < bytes; offset += Page)
        {
            chain.Add(new DriverBuffer(_data + (ulong)offset, (uint)Math.Min(Page, bytes - offset), writable));
        }
        if (StatusDescriptor != BlockStatusDescriptor.Missing)
        {
            chain.Add(new DriverBuffer(_status, 1, StatusDescriptor == BlockStatusDescriptor.Writable));
        }
        return UseIndirect ? Queue.AddIndirect(chain.ToArray(), _table) : Queue.Add(chain.ToArray());
    }

    private Native.Memory.GuestMemory GuestMemory() => _bound.Device.Memory;
}
