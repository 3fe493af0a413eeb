using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit.Rig;

/// <summary>
/// A spec's guest program sees this: the hypercalls, a heap for buffers, and the devices the bus scan found, ready
/// for a driver to bind. It is the guest's side only; nothing here reaches into the device under test.
/// </summary>
public sealed class RigGuest(ISimulatedHypervisor hv, GuestPageAllocator heap, IReadOnlyList<ProbedDevice> devices, TimeSpan timeout)
{
    public ISimulatedHypervisor Hv { get; } = hv;

    public GuestPageAllocator Heap { get; } = heap;

    public IReadOnlyList<ProbedDevice> Devices { get; } = devices;

    /// <summary>How long a driver waits for the device before the spec fails (the settings' interrupt timeout).</summary>
    public TimeSpan Timeout { get; } = timeout;

    /// <summary>The first device of virtio type <paramref name="type"/>; a spec fails when there is none.</summary>
    public ProbedDevice Device(byte type) =>
        Devices.FirstOrDefault(d => d.Type == type) ?? throw new SimulatedGuestException($"no virtio device of type {type} on the bus");

    /// <summary>
    /// Negotiates <paramref name="supportedFeatures"/>, sets up <paramref name="queues"/> queues and sets DRIVER_OK:
    /// what a driver's probe does before it offers the first buffer.
    /// </summary>
    public BoundDevice Bind(ProbedDevice device, ulong supportedFeatures, int queues)
    {
        ArgumentNullException.ThrowIfNull(device);
        BoundDevice bound = device.Bind(Hv, supportedFeatures, queues, Timeout);
        bound.Ready();
        return bound;
    }

    /// <summary>Whether the device set DEVICE_NEEDS_RESET, which the launcher does when a device failed.</summary>
    public static bool NeedsReset(ProbedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return (device.Status & DriverStatus.NeedsReset) != 0;
    }
}
