using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>
/// virtio_net as a legacy driver without MRG_RXBUF or offloads: every frame travels behind a 10-byte
/// virtio_net_hdr in a descriptor of its own (no ANY_LAYOUT), queue 0 receives and is kept full, queue 1 transmits
/// and is reclaimed lazily, as start_xmit frees old buffers before adding new ones.
/// </summary>
public sealed class NetDriver
{
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int HeaderSize = 10;

    /// <summary>An Ethernet frame without GSO: 1514 bytes plus VLAN tag and slack.</summary>
    public const int MaxFrame = 1536;

    public const int FeatureMac = 5;
    public const ulong DefaultFeatures = VirtioNumbers.RingFeatures | (1UL << FeatureMac);

    private const int ReceiveBuffers = 16;
    private const int TransmitSlots = 16;
    private readonly BoundDevice _bound;
    private readonly Dictionary<ushort, ulong> _receiving = [];
    private readonly Dictionary<ushort, int> _sending = [];
    private readonly Stack<int> _freeSlots = new();
    private readonly ulong _transmitArea;

    public NetDriver(ISimulatedHypervisor hv, GuestPageAllocator heap, ProbedDevice device, TimeSpan timeout, ulong supportedFeatures = DefaultFeatures)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentNullException.ThrowIfNull(device);
        _bound = device.Bind(hv, supportedFeatures, 2, timeout);
        Input = _bound.Queues[ReceiveQueue];
        Output = _bound.Queues[TransmitQueue];
        if (_bound.Has(FeatureMac))
        {
            byte[] mac = new byte[6];
            device.ReadConfig(0, mac);
            Mac = mac;
        }
        _transmitArea = heap.Allocate((ulong)TransmitSlots * (HeaderSize + MaxFrame));
        for (int slot = TransmitSlots - 1; slot >= 0; slot--)
        {
            _freeSlots.Push(slot);
        }
        _bound.Ready();
        for (int i = 0; i < Math.Min(ReceiveBuffers, Input.Size / 2); i++)
        {
            Receive(heap.Allocate(HeaderSize + MaxFrame));
        }
        Input.Kick();
    }

    public ProbedDevice Device => _bound.Device;

    public ulong Features => _bound.Features;

    public GuestVirtqueue Input { get; }

    public GuestVirtqueue Output { get; }

    /// <summary>The device's MAC when it offered one.</summary>
    public byte[]? Mac { get; }

    /// <summary>Fault injection: false stops collecting received frames and refilling the receive queue.</summary>
    public bool ConsumeInput { get; set; } = true;

    /// <summary>Frames sent whose buffers the device has not handed back yet.</summary>
    public int InFlight => _sending.Count;

    /// <summary>Queues <paramref name="frame"/> behind a zeroed header; waits only when every transmit slot is busy.</summary>
    public void Send(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty || frame.Length > MaxFrame)
        {
            throw new ArgumentOutOfRangeException(nameof(frame), frame.Length, $"a frame is 1 to {MaxFrame} bytes");
        }
        ReclaimSent();
        while (_freeSlots.Count == 0 || Output.Queue.FreeDescriptorCount < 2)
        {
            (ushort done, _) = Output.WaitForUsedOrFail("transmit buffers");
            Release(done);
        }
        int slot = _freeSlots.Pop();
        ulong header = _transmitArea + (ulong)slot * (HeaderSize + MaxFrame);
        Device.Memory.Clear(header, HeaderSize);
        Device.Memory.Write(header + HeaderSize, frame);
        ushort head = Output.Add([new DriverBuffer(header, HeaderSize, false), new DriverBuffer(header + HeaderSize, (uint)frame.Length, false)]);
        _sending[head] = slot;
        Output.Kick();
    }

    /// <summary>Collects transmit buffers the device is done with; returns how many.</summary>
    public int ReclaimSent()
    {
        int count = 0;
        while (Output.TryTakeUsed(out ushort head, out _))
        {
            Release(head);
            count++;
        }
        return count;
    }

    /// <summary>Waits until every frame sent so far has been taken by the device.</summary>
    public bool WaitSent(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (_sending.Count > 0)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !Output.WaitForUsed(out ushort head, out _, left))
            {
                return false;
            }
            Release(head);
        }
        return true;
    }

    /// <summary>
    /// Buffers the device handed back with less than a header in them, as it does for a frame too big for the
    /// buffer: virtio_net counts them as rx_length_errors and recycles the buffer.
    /// </summary>
    public int ReceiveLengthErrors { get; private set; }

    /// <summary>The next received frame without its header; null after <paramref name="timeout"/>.</summary>
    public byte[]? TryReceive(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            TimeSpan left = timeout - clock.Elapsed;
            if (!ConsumeInput || left < TimeSpan.Zero || !Input.WaitForUsed(out ushort head, out uint length, left))
            {
                return null;
            }
            if (!_receiving.Remove(head, out ulong buffer))
            {
                throw new SimulatedGuestException($"{Input.Name}: device returned buffer {head}, which is not a receive buffer");
            }
            if (length > HeaderSize + MaxFrame)
            {
                throw new SimulatedGuestException($"{Input.Name}: device reported {length} bytes for a {HeaderSize}+{MaxFrame}-byte buffer");
            }
            byte[]? frame = null;
            if (length < HeaderSize)
            {
                ReceiveLengthErrors++;
            }
            else
            {
                frame = new byte[length - HeaderSize];
                Device.Memory.Read(buffer + HeaderSize, frame);
            }
            Receive(buffer);
            Input.Kick();
            if (frame is not null)
            {
                return frame;
            }
        }
    }

    private void Receive(ulong buffer)
    {
        ushort head = Input.Add([new DriverBuffer(buffer, HeaderSize, true), new DriverBuffer(buffer + HeaderSize, MaxFrame, true)]);
        _receiving[head] = buffer;
    }

    private void Release(ushort head)
    {
        if (!_sending.Remove(head, out int slot))
        {
            throw new SimulatedGuestException($"{Output.Name}: device returned buffer {head}, which was not sent");
        }
        _freeSlots.Push(slot);
    }
}
