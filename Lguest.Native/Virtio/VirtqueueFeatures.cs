namespace Lguest.Native.Virtio;

/// <summary>The negotiated ring features that change how a split virtqueue is walked and notified.</summary>
[Flags]
public enum VirtqueueFeatures
{
    None = 0,

    /// <summary>VIRTIO_F_INDIRECT_DESC (feature bit 28).</summary>
    IndirectDescriptors = 1,

    /// <summary>VIRTIO_F_EVENT_IDX (feature bit 29): used_event / avail_event replace the flag-based suppression.</summary>
    EventIndex = 2,
}

/// <summary>Maps negotiated virtio feature bits to the ring features a queue needs to know about.</summary>
public static class VirtqueueFeatureBits
{
    public const int IndirectDescriptors = 28;
    public const int EventIndex = 29;

    public static VirtqueueFeatures FromNegotiated(ulong features)
    {
        VirtqueueFeatures result = VirtqueueFeatures.None;
        if ((features & (1UL << IndirectDescriptors)) != 0)
        {
            result |= VirtqueueFeatures.IndirectDescriptors;
        }
        if ((features & (1UL << EventIndex)) != 0)
        {
            result |= VirtqueueFeatures.EventIndex;
        }
        return result;
    }
}
