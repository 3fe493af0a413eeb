namespace Lguest.Native.Virtio;

/// <summary>
/// The ways a driver can break a split virtqueue. Each one is fatal for the queue: once seen, the device stops
/// trusting the ring until it is reset. Section numbers are those of the virtio 1.2 specification.
/// </summary>
public enum VirtqueueViolation
{
    /// <summary>
    /// A chain ran longer than the descriptor table (or indirect table) it lives in, which with every index in
    /// range can only mean a loop; also a walk past 32768 descriptors. §2.7.5.2 forbids loops ("no chain longer
    /// than 2^32 bytes"), §2.7.5.3.1 chains longer than the queue size.
    /// </summary>
    ChainTooLong,

    /// <summary>A descriptor's <c>next</c> is not below the queue size, or the indirect table's length (§2.7.5, §2.7.5.3).</summary>
    NextOutOfRange,

    /// <summary>An available ring entry names a descriptor not below the queue size (§2.7.6, §2.7.13.2).</summary>
    HeadOutOfRange,

    /// <summary>
    /// avail.idx ran more than the queue size ahead of the device: the driver exposed buffers it could not have,
    /// or decremented idx (§2.7.6.1: idx never decreases; at most queue-size buffers are outstanding, §2.7).
    /// </summary>
    AvailIndexTooFarAhead,

    /// <summary>VIRTQ_DESC_F_INDIRECT used although VIRTIO_F_INDIRECT_DESC was not negotiated (§2.7.5.3.1).</summary>
    IndirectWithoutFeature,

    /// <summary>An indirect table whose length is 0, not a multiple of 16, or more than 32768 descriptors (§2.7.5.3).</summary>
    IndirectTableLengthInvalid,

    /// <summary>An indirect table not (entirely) in guest memory (§2.7.5.3).</summary>
    IndirectTableOutsideMemory,

    /// <summary>VIRTQ_DESC_F_INDIRECT inside an indirect table: one table per descriptor (§2.7.5.3.1).</summary>
    NestedIndirect,

    /// <summary>VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT on the same descriptor (§2.7.5.3.1).</summary>
    IndirectWithNext,

    /// <summary>A device-readable buffer after a device-writable one in the same chain (§2.7.4.2).</summary>
    ReadableAfterWritable,

    /// <summary>A buffer not (entirely) in guest memory, including one whose address + length wraps past 2^64 (§2.7.5).</summary>
    BufferOutsideMemory,

    /// <summary>
    /// The descriptor table, available or used ring is not inside one guest memory region, or is misaligned
    /// (16, 2 and 4 bytes: §2.7 and §2.7.1).
    /// </summary>
    RingOutsideMemory,

    /// <summary>Queue size 0, not a power of two, or above 32768 (§2.7).</summary>
    InvalidQueueSize,
}
