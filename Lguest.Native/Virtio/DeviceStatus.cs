namespace Lguest.Native.Virtio;

/// <summary>
/// The device status bits (virtio 1.2 §2.1), as the driver writes them and the device reads them: the lguest device
/// page's status byte carries exactly these.
/// </summary>
public static class DeviceStatus
{
    public const byte Acknowledge = 1;
    public const byte Driver = 2;
    public const byte DriverOk = 4;
    public const byte FeaturesOk = 8;
    public const byte NeedsReset = 64;
    public const byte Failed = 128;
}
