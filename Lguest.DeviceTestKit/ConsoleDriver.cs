using System.Text;
using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>
/// virtio_console without MULTIPORT, as hvc0 uses it: queue 0 receives (the driver keeps it full of buffers),
/// queue 1 transmits, one buffer at a time, waiting for each to come back as put_chars does.
/// </summary>
public sealed class ConsoleDriver
{
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int ReceiveBufferSize = 1024;
    public const int TransmitBufferSize = 4096;

    /// <summary>Neither SIZE nor MULTIPORT: the ring features only.</summary>
    public const ulong DefaultFeatures = VirtioNumbers.RingFeatures;

    /// <summary>hvc0 keeps this many receive buffers posted.</summary>
    public const int DefaultReceiveBuffers = 16;

    private readonly Dictionary<ushort, ulong> _receiving = [];
    private readonly ulong _transmitBuffer;
    private readonly List<byte> _pending = [];
    private readonly BoundDevice _bound;

    /// <param name="receiveBuffers">Receive buffers kept posted; fewer than the default is a starved guest, for tests.</param>
    public ConsoleDriver(
        ISimulatedHypervisor hv, GuestPageAllocator heap, ProbedDevice device, TimeSpan timeout, ulong supportedFeatures = DefaultFeatures, int receiveBuffers = DefaultReceiveBuffers)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(receiveBuffers);
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentNullException.ThrowIfNull(device);
        _bound = device.Bind(hv, supportedFeatures, 2, timeout);
        Input = _bound.Queues[ReceiveQueue];
        Output = _bound.Queues[TransmitQueue];
        _transmitBuffer = heap.Allocate(TransmitBufferSize);
        _bound.Ready();
        int buffers = Math.Min(receiveBuffers, (int)Input.Size);
        for (int i = 0; i < buffers; i++)
        {
            Receive(heap.Allocate(ReceiveBufferSize));
        }
        Input.Kick();
    }

    public ProbedDevice Device => _bound.Device;

    public ulong Features => _bound.Features;

    public GuestVirtqueue Input { get; }

    public GuestVirtqueue Output { get; }

    /// <summary>
    /// Fault injection: false makes the driver stop collecting input and stop refilling the receive queue, as a
    /// wedged guest would; the device must then hold input back rather than lose or overrun it.
    /// </summary>
    public bool ConsumeInput { get; set; } = true;

    public void Write(string text) => Write(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends <paramref name="data"/> a buffer at a time, each waited for before the next.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            ReadOnlySpan<byte> chunk = data[..Math.Min(data.Length, TransmitBufferSize)];
            Device.Memory.Write(_transmitBuffer, chunk);
            ushort sent = Output.Add([new DriverBuffer(_transmitBuffer, (uint)chunk.Length, false)]);
            Output.Kick();
            (ushort head, _) = Output.WaitForUsedOrFail("console output");
            if (head != sent)
            {
                throw new SimulatedGuestException($"{Output.Name}: device returned buffer {head}, only {sent} was sent");
            }
            data = data[chunk.Length..];
        }
    }

    /// <summary>The next input the device delivered, up to one buffer; null after <paramref name="timeout"/>.</summary>
    public byte[]? Read(TimeSpan timeout)
    {
        if (_pending.Count > 0)
        {
            byte[] held = [.. _pending];
            _pending.Clear();
            return held;
        }
        return ConsumeInput && Input.WaitForUsed(out ushort head, out uint length, timeout) ? Collect(head, length) : null;
    }

    /// <summary>One line of input without its newline (a trailing CR is dropped too); null after <paramref name="timeout"/>.</summary>
    public string? ReadLine(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            int newline = _pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                string line = Encoding.UTF8.GetString([.. _pending.GetRange(0, newline)]).TrimEnd('\r');
                _pending.RemoveRange(0, newline + 1);
                return line;
            }
            TimeSpan left = deadline - DateTime.UtcNow;
            if (!ConsumeInput || left <= TimeSpan.Zero || !Input.WaitForUsed(out ushort head, out uint length, left))
            {
                return null;
            }
            _pending.AddRange(Collect(head, length));
        }
    }

    private byte[] Collect(ushort head, uint length)
    {
        if (!_receiving.Remove(head, out ulong buffer))
        {
            throw new SimulatedGuestException($"{Input.Name}: device returned buffer {head}, which is not a receive buffer");
        }
        if (length > ReceiveBufferSize)
        {
            throw new SimulatedGuestException($"{Input.Name}: device wrote {length} bytes into a {ReceiveBufferSize}-byte buffer");
        }
        byte[] data = new byte[length];
        Device.Memory.Read(buffer, data);
        Receive(buffer);
        Input.Kick();
        return data;
    }

    private void Receive(ulong buffer)
    {
        ushort head = Input.Add([new DriverBuffer(buffer, ReceiveBufferSize, true)]);
        _receiving[head] = buffer;
    }
}
