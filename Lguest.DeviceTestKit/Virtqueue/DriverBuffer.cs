namespace Lguest.DeviceTestKit.Virtqueue;

/// <summary>
/// One piece of a buffer a driver offers: guest-physical address, length, and whether the device writes it
/// (VIRTQ_DESC_F_WRITE). The TestKit's own type, so nothing on the driver side is the device side's code.
/// </summary>
public readonly record struct DriverBuffer(ulong Address, uint Length, bool DeviceWritable);
