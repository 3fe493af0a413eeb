using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit;

/// <summary>
/// Linux's lguest_devices_init/scan_devices: the device page is the first page above RAM; records follow one
/// another (5-byte descriptor, num_vq vqconfigs, two feature arrays, config) until a type-0 byte or the page's end.
/// Linux trusted the launcher's page; we refuse records that run off the page or point rings outside the guest,
/// so a launcher bug is a clear panic rather than memory corruption.
/// </summary>
public static class LguestBusScanner
{
    private const int PageSize = 4096;
    private const int DescriptorSize = 5;
    private const int VirtqueueConfigSize = 8;

    public static IReadOnlyList<ProbedDevice> Scan(GuestMemory memory, ulong ramSize, ulong guestLimit)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ulong pageAddress = ramSize;
        if (pageAddress > guestLimit || guestLimit - pageAddress < PageSize || !memory.Contains(pageAddress, PageSize))
        {
            throw new SimulatedGuestException($"lguest: no device page at 0x{pageAddress:x} (the guest limit is 0x{guestLimit:x})");
        }
        byte[] page = new byte[PageSize];
        memory.Read(pageAddress, page);

        var devices = new List<ProbedDevice>();
        int offset = 0;
        while (offset + DescriptorSize <= PageSize && page[offset] != 0)
        {
            byte type = page[offset];
            int queueCount = page[offset + 1];
            int featureLength = page[offset + 2];
            int configLength = page[offset + 3];
            int length = DescriptorSize + queueCount * VirtqueueConfigSize + 2 * featureLength + configLength;
            if (offset + length > PageSize)
            {
                throw new SimulatedGuestException(
                    $"lguest: device {devices.Count} (type {type}) at offset {offset} is {length} bytes and runs past the device page");
            }
            var queues = new VirtqueueConfig[queueCount];
            for (int q = 0; q < queueCount; q++)
            {
                ReadOnlySpan<byte> vq = page.AsSpan(offset + DescriptorSize + q * VirtqueueConfigSize, VirtqueueConfigSize);
                var config = new VirtqueueConfig(q, BitConverter.ToUInt16(vq), BitConverter.ToUInt16(vq[2..]), BitConverter.ToUInt32(vq[4..]));
                CheckQueue(devices.Count, config, guestLimit);
                queues[q] = config;
            }
            devices.Add(new ProbedDevice(memory, devices.Count, type, pageAddress + (ulong)offset, queues, featureLength, configLength));
            offset += length;
        }
        return devices;
    }

    private static void CheckQueue(int device, VirtqueueConfig config, ulong guestLimit)
    {
        if (config.Irq >= 32)
        {
            throw new SimulatedGuestException($"lguest: device {device} queue {config.Index} has irq {config.Irq}; there are 32 lines");
        }
        ulong ringBytes = config.Size == 0 ? 0 : Virtqueue.SplitRingSpec.LegacyByteSize(config.Size, 4096);
        if (config.RingAddress >= guestLimit || ringBytes > guestLimit - config.RingAddress)
        {
            throw new SimulatedGuestException(
                $"lguest: device {device} queue {config.Index} ring at pfn 0x{config.Pfn:x} ({ringBytes} bytes) is outside the guest (limit 0x{guestLimit:x})");
        }
    }
}
