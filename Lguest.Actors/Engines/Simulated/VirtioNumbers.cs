namespace Lguest.Actors.Engines.Simulated;

/// <summary>The virtio numbers the simulated drivers speak (virtio 1.2 and the legacy headers lguest used).</summary>
internal static class VirtioNumbers
{
    public const byte DeviceNet = 1;
    public const byte DeviceBlock = 2;
    public const byte DeviceConsole = 3;
    public const byte DeviceRng = 4;

    public const byte StatusAcknowledge = 1;
    public const byte StatusDriver = 2;
    public const byte StatusDriverOk = 4;
    public const byte StatusDeviceNeedsReset = 64;
    public const byte StatusFailed = 128;

    public const int FeatureIndirectDescriptors = 28;
    public const int FeatureEventIndex = 29;

    /// <summary>The ring features every simulated driver understands, as Linux's virtio_ring does.</summary>
    public const ulong RingFeatures = (1UL << FeatureIndirectDescriptors) | (1UL << FeatureEventIndex);

    public const ushort DescriptorNext = 1;
    public const ushort DescriptorWrite = 2;
    public const ushort DescriptorIndirect = 4;

    public static string DeviceName(byte type) => type switch
    {
        DeviceNet => "net",
        DeviceBlock => "block",
        DeviceConsole => "console",
        DeviceRng => "rng",
        _ => $"type {type}",
    };
}
