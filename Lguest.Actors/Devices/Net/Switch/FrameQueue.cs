using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// Frames waiting for one port: a bounded multi-producer, single-consumer ring of reusable buffers (Vyukov's
/// bounded queue), and an eventfd doorbell. Any port's transmit thread claims a slot, copies a frame into it and
/// publishes it; the port's own receive thread takes slots in order. Nobody ever waits for anybody: a full ring
/// refuses the claim (the frame is dropped and counted), and the doorbell is rung only when the consumer said it
/// was about to sleep, so a busy port costs no system call per frame.
/// </summary>
internal sealed class FrameQueue : IDisposable
{
    /// <summary>Enough for an MTU-sized frame and its header: buffers grow once, to the largest frame seen.</summary>
    private const int InitialBuffer = 2048;

    private readonly FrameSlot[] _slots;
    private readonly EventFd _doorbell = EventFd.Create(nonBlocking: true);
    private long _enqueue;
    private long _dequeue;
    private int _wantsDoorbell;

    public FrameQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _slots = new FrameSlot[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new FrameSlot(i, InitialBuffer);
        }
    }

    public int Capacity => _slots.Length;

    /// <summary>Readable when frames were published after the consumer last found the ring empty.</summary>
    public FileDescriptor Doorbell => _doorbell.Descriptor;

    /// <summary>Frames published and not yet taken (a moment's view: producers and the consumer move on).</summary>
    public int Count => (int)Math.Max(0, Volatile.Read(ref _enqueue) - Volatile.Read(ref _dequeue));

    /// <summary>
    /// Producer side: reserves the next slot for a frame of <paramref name="length"/> bytes, or false when the ring
    /// is full. The caller fills <see cref="FrameSlot.Buffer"/> and must then <see cref="Publish"/> it.
    /// </summary>
    public bool TryClaim(int length, out FrameSlot slot)
    {
        long position = Volatile.Read(ref _enqueue);
        while (true)
        {
            slot = _slots[position % _slots.Length];
            long difference = Volatile.Read(ref slot.Sequence) - position;
            if (difference == 0)
            {
                long seen = Interlocked.CompareExchange(ref _enqueue, position + 1, position);
                if (seen == position)
                {
                    slot.Position = position;
                    slot.Prepare(length);
                    return true;
                }
                position = seen;
            }
            else if (difference < 0)
            {
                return false;
            }
            else
            {
                position = Volatile.Read(ref _enqueue);
            }
        }
    }

    /// <summary>Producer side: makes a claimed slot visible to the consumer, ringing the doorbell if it sleeps.</summary>
    public void Publish(FrameSlot slot)
    {
        Volatile.Write(ref slot.Sequence, slot.Position + 1);
        // A full fence between publishing and looking at the request: without it the CPU may read the request before
        // the slot is visible, while the consumer asks and then finds the ring empty, and both would sleep.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _wantsDoorbell) != 0 && Interlocked.Exchange(ref _wantsDoorbell, 0) != 0)
        {
            _doorbell.Signal();
        }
    }

    /// <summary>Consumer side: the oldest published frame, left in place until <see cref="Release"/>.</summary>
    public bool TryPeek(out FrameSlot slot)
    {
        slot = _slots[_dequeue % _slots.Length];
        return Volatile.Read(ref slot.Sequence) == _dequeue + 1;
    }

    /// <summary>Consumer side: hands the slot <see cref="TryPeek"/> returned back to the producers.</summary>
    public void Release(FrameSlot slot)
    {
        Volatile.Write(ref slot.Sequence, _dequeue + _slots.Length);
        Volatile.Write(ref _dequeue, _dequeue + 1);
    }

    /// <summary>
    /// Consumer side, about to sleep on <see cref="Doorbell"/>: clears it, asks producers to ring it, and looks once
    /// more, because a frame published before the request was seen would otherwise wait for the next one. True: a
    /// frame is there after all, serve it instead of sleeping.
    /// </summary>
    public bool ArmDoorbell()
    {
        _doorbell.Drain();
        Interlocked.Exchange(ref _wantsDoorbell, 1);
        return TryPeek(out _);
    }

    /// <summary>
    /// Consumer side, the one way to ask "anything for me?": the oldest published frame, or false with the doorbell
    /// armed, so the caller may sleep on it without missing a frame that raced in while it was arming.
    /// </summary>
    public bool TryPeekOrArmDoorbell(out FrameSlot slot) => TryPeek(out slot) || (ArmDoorbell() && TryPeek(out slot));

    /// <summary>Consumer side: throws away every waiting frame (the port's guest has gone, nobody will take them).</summary>
    public int Discard()
    {
        int discarded = 0;
        while (TryPeek(out FrameSlot slot))
        {
            Release(slot);
            discarded++;
        }
        return discarded;
    }

    public void Dispose() => _doorbell.Dispose();
}

/// <summary>One frame's place in a <see cref="FrameQueue"/>: the frame as the sending guest wrote it, virtio-net header first.</summary>
internal sealed class FrameSlot
{
    internal long Sequence;
    internal long Position;

    public FrameSlot(long sequence, int bufferSize)
    {
        Sequence = sequence;
        Buffer = new byte[bufferSize];
    }

    public byte[] Buffer { get; private set; }

    /// <summary>Header and frame bytes.</summary>
    public int Length { get; private set; }

    /// <summary>The sender's virtio-net header size (10 legacy, 12 VERSION_1): the Ethernet frame starts here.</summary>
    public int HeaderSize { get; set; }

    public Span<byte> Frame => Buffer.AsSpan(0, Length);

    /// <summary>Grows the buffer only for a frame bigger than any before it: allocation-free in the steady state.</summary>
    internal void Prepare(int length)
    {
        if (Buffer.Length < length)
        {
            Buffer = new byte[Math.Max(length, Buffer.Length * 2)];
        }
        Length = length;
    }
}
