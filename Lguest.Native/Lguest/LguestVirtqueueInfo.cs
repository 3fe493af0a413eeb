namespace Lguest.Native.Lguest;

/// <summary>
/// Where one queue lives: what its lguest_vqconfig tells the guest, and the legacy split ring the guest will lay out
/// at <see cref="RingAddress"/> with <see cref="LguestAbi.LGUEST_VRING_ALIGN"/> alignment.
/// </summary>
public sealed record LguestVirtqueueInfo(int Index, ushort Size, ushort Irq, uint Pfn)
{
    /// <summary>Guest-physical start of the ring; also the address the guest notifies to kick this queue.</summary>
    public ulong RingAddress => (ulong)Pfn * LguestAbi.PageSize;

    public ulong DescriptorTableAddress => RingAddress;

    public ulong AvailableRingAddress => RingAddress + 16UL * Size;

    /// <summary>The used ring starts on the next alignment boundary after the available ring (and its used_event).</summary>
    public ulong UsedRingAddress => RingAddress + UsedRingOffset(Size);

    /// <summary>Bytes the ring spans, used ring (and its avail_event) included.</summary>
    public ulong RingBytes => RingSize(Size);

    /// <summary>vring_size(): the bytes a legacy ring of <paramref name="size"/> descriptors needs.</summary>
    public static ulong RingSize(ushort size) => UsedRingOffset(size) + 6UL + 8UL * size;

    private static ulong UsedRingOffset(ushort size)
    {
        const ulong align = LguestAbi.LGUEST_VRING_ALIGN;
        ulong availEnd = 16UL * size + 6UL + 2UL * size;
        return (availEnd + align - 1) & ~(align - 1);
    }
}
