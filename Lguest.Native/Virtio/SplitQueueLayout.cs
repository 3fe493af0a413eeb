namespace Lguest.Native.Virtio;

/// <summary>
/// Where a split virtqueue's three parts live in guest-physical memory. Only a description: nothing is checked
/// until a queue is built over it, because the addresses come from the guest.
/// </summary>
public readonly record struct SplitQueueLayout(ushort Size, ulong DescriptorTable, ulong AvailableRing, ulong UsedRing)
{
    /// <summary>
    /// The legacy (and lguest) layout: descriptors, then the available ring including used_event, then the used
    /// ring at the next <paramref name="align"/> boundary. lguest gives the guest one address per queue, so the
    /// other two have to be derived exactly as the Linux driver lays them out.
    /// </summary>
    public static SplitQueueLayout Legacy(ulong ringAddress, ushort size, ulong align = 4096)
    {
        ThrowIfBadAlignment(align);
        ulong avail = ringAddress + DescriptorBytes(size);
        ulong availEnd = avail + AvailableBytes(size);
        ulong used = (availEnd + (align - 1)) & ~(align - 1);
        // The ring address is guest-supplied: a layout that wraps past 2^64 would land the rings somewhere unrelated.
        if (avail < ringAddress || availEnd < avail || used < availEnd || used + UsedBytes(size) < used)
        {
            throw new VirtqueueException(
                VirtqueueViolation.RingOutsideMemory,
                $"legacy ring at 0x{ringAddress:x} of size {size} wraps past 2^64");
        }
        return new SplitQueueLayout(size, ringAddress, avail, used);
    }

    /// <summary>Bytes a legacy ring occupies, Linux's vring_size(): what the driver allocates for the queue.</summary>
    public static ulong LegacyByteSize(ushort size, ulong align = 4096)
    {
        ThrowIfBadAlignment(align);
        ulong beforeUsed = (DescriptorBytes(size) + AvailableBytes(size) + (align - 1)) & ~(align - 1);
        return beforeUsed + UsedBytes(size);
    }

    /// <summary>16 bytes per descriptor.</summary>
    public static ulong DescriptorBytes(ushort size) => 16UL * size;

    /// <summary>flags, idx, ring[size], used_event.</summary>
    public static ulong AvailableBytes(ushort size) => 6UL + 2UL * size;

    /// <summary>flags, idx, ring[size] of {id, len}, avail_event.</summary>
    public static ulong UsedBytes(ushort size) => 6UL + 8UL * size;

    private static void ThrowIfBadAlignment(ulong align)
    {
        if (align == 0 || (align & (align - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(align), align, "ring alignment must be a power of two");
        }
    }
}
