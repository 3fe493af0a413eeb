using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>virtio-rng: one queue of device-writable buffers; the device fills what it can and says how much.</summary>
public sealed class RngDriver
{
    public const int MaxRequestBytes = 4096;
    public const ulong DefaultFeatures = VirtioNumbers.RingFeatures;

    private readonly BoundDevice _bound;
    private readonly ulong _buffer;

    public RngDriver(ISimulatedHypervisor hv, GuestPageAllocator heap, ProbedDevice device, TimeSpan timeout, ulong supportedFeatures = DefaultFeatures)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentNullException.ThrowIfNull(device);
        _bound = device.Bind(hv, supportedFeatures, 1, timeout);
        Queue = _bound.Queues[0];
        _buffer = heap.Allocate(MaxRequestBytes);
        _bound.Ready();
    }

    public ProbedDevice Device => _bound.Device;

    public ulong Features => _bound.Features;

    public GuestVirtqueue Queue { get; }

    /// <summary>Asks for <paramref name="count"/> bytes and returns what the device gave (it may give fewer).</summary>
    public byte[] Read(int count)
    {
        if (count <= 0 || count > MaxRequestBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"1 to {MaxRequestBytes} bytes per request");
        }
        ushort sent = Queue.Add([new DriverBuffer(_buffer, (uint)count, true)]);
        Queue.Kick();
        (ushort head, uint length) = Queue.WaitForUsedOrFail($"a {count}-byte entropy request");
        if (head != sent)
        {
            throw new SimulatedGuestException($"{Queue.Name}: device completed buffer {head}, only {sent} was in flight");
        }
        if (length > count)
        {
            throw new SimulatedGuestException($"{Queue.Name}: device claims {length} bytes in a {count}-byte buffer");
        }
        byte[] data = new byte[length];
        Device.Memory.Read(_buffer, data);
        return data;
    }
}
