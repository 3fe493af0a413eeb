using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Block;

/// <summary>
/// The writes one block queue has in flight in its io_uring: a slot per write (the chain's head, where its status byte
/// is, how many bytes it must move), at most one per descriptor of the ring, allocated once, so a guest that floods
/// the queue can make us do nothing but answer the extra writes synchronously. The slot number is the completion's
/// user data. Owned by the queue's thread.
/// </summary>
internal sealed class BlockWriteRing : IDisposable
{
    private readonly IoUring _ring;
    private readonly InFlightWrite[] _slots;
    private readonly int[] _free;
    private int _freeCount;

    /// <param name="ring">Its eventfd registration is done here.</param>
    public BlockWriteRing(IoUring ring, int slots)
    {
        _ring = ring;
        _slots = new InFlightWrite[slots];
        _free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            _free[i] = slots - 1 - i;
        }
        _freeCount = slots;
        Completions = EventFd.Create(nonBlocking: true);
        try
        {
            ring.RegisterEventFd(Completions);
        }
        catch
        {
            Completions.Dispose();
            throw;
        }
    }

    public EventFd Completions { get; }

    public int InFlight => _slots.Length - _freeCount;

    /// <summary>Whether a completion waits in the ring (shared memory only).</summary>
    public bool HasCompleted => _ring.CompletionsReady > 0;

    /// <summary>Writes handed to the kernel so far: what shows a queue really went asynchronous.</summary>
    public long Started { get; private set; }

    /// <summary>Queues a write; false when every slot or the submission ring is taken (the caller writes it now instead).</summary>
    public bool TryStart(FileDescriptor file, ReadOnlySpan<IoVector> vectors, long offset, in InFlightWrite write)
    {
        if (_freeCount == 0)
        {
            return false;
        }
        int slot = _free[_freeCount - 1];
        if (!_ring.TryPrepareWriteV(file, vectors, offset, (ulong)slot))
        {
            _ring.Submit();
            if (!_ring.TryPrepareWriteV(file, vectors, offset, (ulong)slot))
            {
                return false;
            }
        }
        _freeCount--;
        _slots[slot] = write;
        Started++;
        return true;
    }

    public void Submit() => _ring.Submit();

    /// <summary>The next finished write and what the kernel said (bytes moved, or a negated errno); its slot is free again.</summary>
    public bool TryFinish(out InFlightWrite write, out int result)
    {
        while (_ring.TryReap(out ulong slot, out result))
        {
            if (slot >= (ulong)_slots.Length)
            {
                // Only this class submits to the ring; a completion it never asked for is a bug, not a guest's doing.
                throw new InvalidOperationException($"io_uring completed unknown write slot {slot}");
            }
            write = _slots[slot];
            _slots[slot] = default;
            _free[_freeCount++] = (int)slot;
            return true;
        }
        write = default;
        return false;
    }

    /// <summary>Submits, then sleeps until every write in flight has completed (none is reaped here).</summary>
    public void WaitForAll()
    {
        if (InFlight > 0)
        {
            _ring.WaitForCompletions((uint)InFlight);
        }
    }

    public void Dispose()
    {
        _ring.Dispose();
        Completions.Dispose();
    }
}

/// <summary>One write in flight: which chain, where its status goes, how long it is and where (for the log).</summary>
internal readonly record struct InFlightWrite(ushort Head, IoUringStatusByte Status, ulong Length, long Offset);
