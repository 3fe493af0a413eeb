namespace Lguest.Native.Virtio;

/// <summary>The split ring's flag bits, shared by the device and driver sides.</summary>
internal static class VirtqueueFlags
{
    /// <summary>Descriptor continues via its next field.</summary>
    public const ushort Next = 1;

    /// <summary>Descriptor is device-writable (otherwise device-readable).</summary>
    public const ushort Write = 2;

    /// <summary>Descriptor points at a table of descriptors.</summary>
    public const ushort Indirect = 4;

    /// <summary>avail.flags: the driver does not want used-buffer interrupts.</summary>
    public const ushort NoInterrupt = 1;

    /// <summary>used.flags: the device does not want available-buffer kicks.</summary>
    public const ushort NoNotify = 1;

    /// <summary>Bytes per descriptor, in the ring's table and in indirect tables.</summary>
    public const int DescriptorSize = 16;

    /// <summary>Largest queue size the spec allows, and our bound on any single walk.</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>
    /// Linux's vring_need_event: true when moving an index from <paramref name="old"/> to <paramref name="newIndex"/>
    /// stepped over <paramref name="eventIndex"/>, all in 16-bit arithmetic so the wrap at 65535 is handled.
    /// </summary>
    public static bool NeedEvent(ushort eventIndex, ushort newIndex, ushort old)
        => (ushort)(newIndex - eventIndex - 1) < (ushort)(newIndex - old);
}
