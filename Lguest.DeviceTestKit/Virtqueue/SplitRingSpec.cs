namespace Lguest.DeviceTestKit.Virtqueue;

/// <summary>
/// The split virtqueue as the virtio 1.x specification writes it (section 2.7), transcribed for the driver side
/// without looking at the device side's code: the point of the TestKit is that a misreading of the spec in the
/// device cannot be mirrored here and pass.
/// </summary>
public static class SplitRingSpec
{
    /// <summary>struct virtq_desc: le64 addr, le32 len, le16 flags, le16 next (2.7.5).</summary>
    public const int DescriptorSize = 16;

    /// <summary>VIRTQ_DESC_F_NEXT: the buffer continues in the descriptor named by next.</summary>
    public const ushort DescriptorNext = 1;

    /// <summary>VIRTQ_DESC_F_WRITE: device-writable (otherwise device-readable).</summary>
    public const ushort DescriptorWrite = 2;

    /// <summary>VIRTQ_DESC_F_INDIRECT: the buffer is a table of descriptors (2.7.5.3).</summary>
    public const ushort DescriptorIndirect = 4;

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT in avail.flags (2.7.6).</summary>
    public const ushort AvailNoInterrupt = 1;

    /// <summary>VIRTQ_USED_F_NO_NOTIFY in used.flags (2.7.8).</summary>
    public const ushort UsedNoNotify = 1;

    /// <summary>VIRTIO_F_INDIRECT_DESC, a feature bit (6, "Reserved Feature Bits").</summary>
    public const int FeatureIndirectDescriptors = 28;

    /// <summary>VIRTIO_F_EVENT_IDX: used_event and avail_event replace the flags (2.7.10).</summary>
    public const int FeatureEventIndex = 29;

    /// <summary>
    /// The legacy layout lguest uses (2.7.2, "Legacy Interfaces: A Note on Virtqueue Layout"): the descriptor table,
    /// then the available ring (flags, idx, ring[size], used_event), then padding to <paramref name="align"/>, then
    /// the used ring (flags, idx, ring[size] of {le32 id, le32 len}, avail_event).
    /// </summary>
    public static SplitRingAddresses LegacyLayout(ulong ringAddress, ushort size, ulong align = 4096)
    {
        ulong avail = ringAddress + (ulong)DescriptorSize * size;
        ulong availEnd = avail + 2 + 2 + 2UL * size + 2;
        ulong used = AlignUp(availEnd, align);
        return new SplitRingAddresses(size, ringAddress, avail, used);
    }

    /// <summary>Bytes from the ring's start to the end of avail_event: what must lie inside the guest.</summary>
    public static ulong LegacyByteSize(ushort size, ulong align = 4096)
    {
        SplitRingAddresses layout = LegacyLayout(0, size, align);
        return layout.Used + 2 + 2 + 8UL * size + 2;
    }

    /// <summary>
    /// vring_need_event (2.7.10): with EVENT_IDX, the other side wants a notification when the index stepped from
    /// <paramref name="oldIndex"/> to <paramref name="newIndex"/> past <paramref name="eventIndex"/>.
    /// </summary>
    public static bool NeedEvent(ushort eventIndex, ushort newIndex, ushort oldIndex) =>
        (ushort)(newIndex - eventIndex - 1) < (ushort)(newIndex - oldIndex);

    private static ulong AlignUp(ulong value, ulong align) => (value + align - 1) & ~(align - 1);
}

/// <summary>Where the three parts of one split ring are in guest memory.</summary>
public readonly record struct SplitRingAddresses(ushort Size, ulong Descriptors, ulong Avail, ulong Used)
{
    public ulong AvailFlags => Avail;

    public ulong AvailIndex => Avail + 2;

    public ulong AvailSlot(ushort index) => Avail + 4 + 2UL * (ushort)(index % Size);

    /// <summary>used_event sits after the available ring's last slot.</summary>
    public ulong UsedEvent => Avail + 4 + 2UL * Size;

    public ulong UsedFlags => Used;

    public ulong UsedIndex => Used + 2;

    public ulong UsedSlot(ushort index) => Used + 4 + 8UL * (ushort)(index % Size);

    /// <summary>avail_event sits after the used ring's last element.</summary>
    public ulong AvailEvent => Used + 4 + 8UL * Size;

    public ulong Descriptor(ushort index) => Descriptors + (ulong)SplitRingSpec.DescriptorSize * index;
}
