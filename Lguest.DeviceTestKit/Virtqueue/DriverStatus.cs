namespace Lguest.DeviceTestKit.Virtqueue;

/// <summary>The device status field's bits as the driver sets and reads them (virtio 1.x, 2.1).</summary>
public static class DriverStatus
{
    public const byte Acknowledge = 1;
    public const byte Driver = 2;
    public const byte DriverOk = 4;
    public const byte FeaturesOk = 8;
    public const byte NeedsReset = 64;
    public const byte Failed = 128;
}
