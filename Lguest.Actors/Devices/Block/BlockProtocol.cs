using System.Buffers.Binary;

namespace Lguest.Actors.Devices.Block;

/// <summary>virtio-blk's numbers, and the arithmetic every request's range goes through before any I/O.</summary>
internal static class BlockProtocol
{
    public const byte DeviceId = 2;
    public const int SectorSize = 512;

    /// <summary>{u32 type, u32 reserved, u64 sector}.</summary>
    public const int HeaderSize = 16;

    /// <summary>GET_ID answers with a 20-byte string, NUL-padded.</summary>
    public const int IdSize = 20;

    public const uint TypeIn = 0;
    public const uint TypeOut = 1;
    public const uint TypeFlush = 4;
    public const uint TypeGetId = 8;

    public const byte StatusOk = 0;
    public const byte StatusIoError = 1;
    public const byte StatusUnsupported = 2;

    public const int FeatureSegMax = 2;
    public const int FeatureReadOnly = 5;
    public const int FeatureFlush = 9;
    public const int FeatureMultiQueue = 12;

    /// <summary>
    /// Two descriptors of every request are the header and the status: the rest of a queue's worth is data,
    /// which is what the seed told the guest.
    /// </summary>
    public const uint SegMax = BlockDevice.QueueSize - 2;

    /// <summary>capacity, size_max and seg_max: the config stops before the geometry, as the seed's did.</summary>
    public const int ConfigSize = 16;

    /// <summary>With VIRTIO_BLK_F_MQ the config runs to num_queues, a u16 at offset 34.</summary>
    public const int MultiQueueConfigSize = 36;

    private const int NumQueuesOffset = 34;

    public static (uint Type, ulong Sector) ParseHeader(ReadOnlySpan<byte> header)
        => (BinaryPrimitives.ReadUInt32LittleEndian(header), BinaryPrimitives.ReadUInt64LittleEndian(header[8..]));

    /// <summary>
    /// Whether <paramref name="length"/> bytes from <paramref name="sector"/> lie wholly inside a disk of
    /// <paramref name="capacity"/> sectors, and where they start. Whole sectors only. Written so no guest value can
    /// overflow it: sector * 512 is only computed once sector is known to be at most the capacity.
    /// </summary>
    public static bool TryGetRange(ulong sector, ulong length, ulong capacity, out long offset)
    {
        offset = 0;
        if (length % SectorSize != 0 || sector > capacity || length / SectorSize > capacity - sector)
        {
            return false;
        }
        offset = checked((long)(sector * SectorSize));
        return true;
    }

    /// <summary>The config space; with more than one queue it reaches num_queues (geometry and the rest stay 0: not offered).</summary>
    public static byte[] Config(ulong capacity, int queues = 1)
    {
        var config = new byte[queues > 1 ? MultiQueueConfigSize : ConfigSize];
        if (queues > 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(NumQueuesOffset), checked((ushort)queues));
        }
        BinaryPrimitives.WriteUInt64LittleEndian(config, capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(8), 0); // size_max: not offered
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(12), SegMax);
        return config;
    }
}
