using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>
/// What a broken or hostile guest does, for tests of the device side: every method breaks one virtio rule the way
/// a real driver bug would, on a real ring, then kicks so the device sees it. "Stop consuming" is
/// <see cref="ConsoleDriver.ConsumeInput"/> and <see cref="NetDriver.ConsumeInput"/>.
/// </summary>
public static class GuestFaults
{
    /// <summary>Publishes a head of <paramref name="head"/> (default: the queue size, one past the last descriptor).</summary>
    public static void PublishBadHead(GuestVirtqueue queue, ushort? head = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        queue.Queue.PublishAvailable(head ?? queue.Size);
        queue.KickAlways();
    }

    /// <summary>
    /// A chain that never ends: descriptor <paramref name="descriptor"/> has NEXT set and points at itself. It
    /// describes a real, writable buffer, so only the loop is wrong. The descriptor must not be in flight.
    /// </summary>
    public static void PublishLoopedChain(GuestVirtqueue queue, GuestPageAllocator heap, ushort descriptor = 0)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(heap);
        ulong buffer = heap.Allocate(64);
        queue.Queue.WriteDescriptor(descriptor, buffer, 64, VirtioNumbers.DescriptorNext | VirtioNumbers.DescriptorWrite, descriptor);
        queue.Queue.PublishAvailable(descriptor);
        queue.KickAlways();
    }

    /// <summary>A descriptor whose buffer lies past the end of guest memory.</summary>
    public static void PublishBufferOutsideMemory(GuestVirtqueue queue, ushort descriptor = 0)
    {
        ArgumentNullException.ThrowIfNull(queue);
        queue.Queue.WriteDescriptor(descriptor, ulong.MaxValue - 0xfff, 4096, VirtioNumbers.DescriptorWrite, 0);
        queue.Queue.PublishAvailable(descriptor);
        queue.KickAlways();
    }

    /// <summary>Moves avail.idx more than a ring's worth past what the device has seen.</summary>
    public static void RunAvailableIndexAhead(GuestVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        queue.Queue.SetAvailableIndex((ushort)(queue.Queue.AvailableIndex + queue.Size + 1));
        queue.KickAlways();
    }

    /// <summary>
    /// A block request whose status byte is described as <paramref name="status"/> (missing, or in a descriptor the
    /// device may only read), put on the ring and kicked; the device cannot answer it, so nothing is waited for.
    /// The driver's later requests are honest again.
    /// </summary>
    public static ushort PostBlockRequestWithBadStatus(BlockDriver disk, BlockStatusDescriptor status, uint type = BlockDriver.TypeFlush)
    {
        ArgumentNullException.ThrowIfNull(disk);
        BlockStatusDescriptor before = disk.StatusDescriptor;
        disk.StatusDescriptor = status;
        try
        {
            return disk.Post(type, 0, 0, writable: false);
        }
        finally
        {
            disk.StatusDescriptor = before;
        }
    }

    /// <summary>
    /// A receive chain with no device-writable descriptor (one readable buffer instead), posted behind the
    /// driver's honest buffers and kicked: the device meets it once it has a frame and the earlier buffers are used.
    /// </summary>
    public static void PostReceiveBufferWithoutWritable(NetDriver nic, GuestPageAllocator heap)
    {
        ArgumentNullException.ThrowIfNull(nic);
        ArgumentNullException.ThrowIfNull(heap);
        nic.Input.Add([new DriverBuffer(heap.Allocate(NetDriver.HeaderSize + NetDriver.MaxFrame), NetDriver.HeaderSize + NetDriver.MaxFrame, false)]);
        nic.Input.KickAlways();
    }

    /// <summary>LHCALL_SHUTDOWN with RESTART: the launcher sees a reboot request.</summary>
    public static void RequestReboot(ISimulatedHypervisor hv)
    {
        ArgumentNullException.ThrowIfNull(hv);
        hv.Reboot();
    }

    /// <summary>A kernel panic: the launcher sees the guest die with "CRASH: <paramref name="reason"/>".</summary>
    public static void Die(ISimulatedHypervisor hv, string reason)
    {
        ArgumentNullException.ThrowIfNull(hv);
        hv.Panic(reason);
    }
}
