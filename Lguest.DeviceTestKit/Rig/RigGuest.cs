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

    /// <summary>The driver models of the standard devices, bound to the first device of their type.</summary>
    public ConsoleDriver Console(int receiveBuffers = ConsoleDriver.DefaultReceiveBuffers)
        => new(Hv, Heap, Device(VirtioNumbers.DeviceConsole), Timeout, receiveBuffers: receiveBuffers);

    public BlockDriver Block() => new(Hv, Heap, Device(VirtioNumbers.DeviceBlock), Timeout);

    public RngDriver Rng() => new(Hv, Heap, Device(VirtioNumbers.DeviceRng), Timeout);

    public NetDriver Net() => new(Hv, Heap, Device(VirtioNumbers.DeviceNet), Timeout);

    /// <summary>
    /// Waits (bounded by <see cref="Timeout"/>) until the launcher sets DEVICE_NEEDS_RESET on
    /// <paramref name="device"/>: it raises no interrupt for it, so a driver notices on its next look at the status
    /// byte (virtio 1.x 2.1.2), as this poll does.
    /// </summary>
    public void WaitForNeedsReset(ProbedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (!NeedsReset(device))
        {
            Hv.Stopping.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{device.Name}: DEVICE_NEEDS_RESET never came (status 0x{device.Status:x2})");
            }
            Hv.WaitForInterrupt(31, TimeSpan.FromMilliseconds(2));
        }
    }

    /// <summary>What a driver does to recover: write status 0 (2.1.2); the launcher resets the device and its rings.</summary>
    public void Reset(ProbedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.SetStatus(Hv, 0);
    }

    /// <summary>Waits for the launcher to stop the engine (after a fatal device error): the guest never returns.</summary>
    public void IdleUntilStopped()
    {
        while (true)
        {
            Hv.WaitForInterrupt(31, TimeSpan.FromSeconds(1));
            Hv.Stopping.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Whether the device set DEVICE_NEEDS_RESET, which the launcher does when a device failed.</summary>
    public static bool NeedsReset(ProbedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return (device.Status & DriverStatus.NeedsReset) != 0;
    }
}
