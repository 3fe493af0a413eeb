using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>The virtio numbers the simulated drivers speak (virtio 1.2 and the legacy headers lguest used).</summary>
internal static class VirtioNumbers
{
    public const byte DeviceNet = 1;
    public const byte DeviceBlock = 2;
    public const byte DeviceConsole = 3;
    public const byte DeviceRng = 4;

    /// <summary>The ring features every simulated driver understands, as Linux's virtio_ring does.</summary>
    public const ulong RingFeatures = (1UL << SplitRingSpec.FeatureIndirectDescriptors) | (1UL << SplitRingSpec.FeatureEventIndex);

    public const ushort DescriptorNext = SplitRingSpec.DescriptorNext;
    public const ushort DescriptorWrite = SplitRingSpec.DescriptorWrite;
    public const ushort DescriptorIndirect = SplitRingSpec.DescriptorIndirect;

    public static string DeviceName(byte type) => type switch
    {
        DeviceNet => "net",
        DeviceBlock => "block",
        DeviceConsole => "console",
        DeviceRng => "rng",
        _ => $"type {type}",
    };
}
