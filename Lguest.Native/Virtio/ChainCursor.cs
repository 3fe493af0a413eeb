using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// A position in one part (readable or writable) of a chain snapshot and how many bytes may still be used from
/// there: the shared walk under <see cref="ChainReader"/> and <see cref="ChainWriter"/>. It moves only forward and
/// only over buffers the queue already checked, and it never allocates.
/// </summary>
internal ref struct ChainCursor
{
    private ReadOnlySpan<ChainBuffer> _buffers;
    private uint _offset;
    private ulong _remaining;

    public ChainCursor(ReadOnlySpan<ChainBuffer> buffers, ulong length)
    {
        _buffers = buffers;
        _offset = 0;
        _remaining = length;
    }

    public readonly ulong Remaining => _remaining;

    /// <summary>
    /// Why: a device copies a header out or a reply in without caring how the driver cut the buffer (§2.7.4.1).
    /// Copies min(destination, remaining) bytes out of the guest and moves past them.
    /// </summary>
    public int CopyOut(GuestMemory memory, scoped Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length && _remaining > 0)
        {
            (ulong address, int chunk) = Next(memory, (ulong)(destination.Length - done));
            memory.Read(address, destination.Slice(done, chunk));
            done += chunk;
            Advance((ulong)chunk);
        }
        return done;
    }

    /// <summary>Why: the mirror of <see cref="CopyOut"/>, for replies and status bytes.</summary>
    public int CopyIn(GuestMemory memory, scoped ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length && _remaining > 0)
        {
            (ulong address, int chunk) = Next(memory, (ulong)(source.Length - done));
            memory.Write(address, source.Slice(done, chunk));
            done += chunk;
            Advance((ulong)chunk);
        }
        return done;
    }

    /// <summary>
    /// Why: bulk data goes between the guest and a host file with one readv/writev/preadv over guest memory, never
    /// through a copy. Host iovecs for the next min(length, remaining) bytes, without moving; -1 when they need
    /// more entries than <paramref name="into"/> has.
    /// </summary>
    public readonly int Translate(GuestMemory memory, ulong length, scoped Span<IoVector> into)
    {
        length = Math.Min(length, _remaining);
        int count = 0;
        uint offset = _offset;
        foreach (ChainBuffer buffer in _buffers)
        {
            if (length == 0)
            {
                break;
            }
            ulong chunk = Math.Min(buffer.Length - offset, length);
            if (chunk != 0)
            {
                RequireInMemory(memory, buffer.Address + offset, chunk);
                int added = memory.Translate(buffer.Address + offset, chunk, into[count..]);
                if (added < 0)
                {
                    return -1;
                }
                count += added;
                length -= chunk;
            }
            offset = 0;
        }
        return count;
    }

    /// <summary>Why: after a host call moved <paramref name="bytes"/> through translated iovecs, the position follows.</summary>
    public void Advance(ulong bytes)
    {
        if (bytes > _remaining)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"only {_remaining} bytes are left in the chain");
        }
        _remaining -= bytes;
        while (bytes > 0)
        {
            ulong left = _buffers[0].Length - _offset;
            if (bytes < left)
            {
                _offset += (uint)bytes;
                return;
            }
            bytes -= left;
            _buffers = _buffers[1..];
            _offset = 0;
        }
    }

    /// <summary>
    /// Why: some requests have a fixed-size trailer (the block status byte) after data of any length. This cursor
    /// keeps the first <paramref name="length"/> bytes; the returned one starts right after them.
    /// </summary>
    public ChainCursor SplitAt(ulong length)
    {
        if (length > _remaining)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"only {_remaining} bytes are left in the chain");
        }
        ChainCursor tail = this;
        tail.Advance(length);
        _remaining = length;
        return tail;
    }

    /// <summary>
    /// The next contiguous guest range, at most <paramref name="wanted"/> bytes and int-sized, skipping empty
    /// buffers. Only called with bytes remaining, so a buffer with room always exists.
    /// </summary>
    private (ulong Address, int Length) Next(GuestMemory memory, ulong wanted)
    {
        while (_buffers[0].Length == _offset)
        {
            _buffers = _buffers[1..];
            _offset = 0;
        }
        ChainBuffer buffer = _buffers[0];
        ulong chunk = Math.Min(Math.Min(buffer.Length - _offset, wanted), Math.Min(_remaining, int.MaxValue));
        ulong address = buffer.Address + _offset;
        RequireInMemory(memory, address, chunk);
        return (address, (int)chunk);
    }

    /// <summary>
    /// The queue checked every buffer when it popped the chain; memory that no longer holds it (a table remapped
    /// since) is the same broken rule, reported the same way rather than as a host fault.
    /// </summary>
    private static void RequireInMemory(GuestMemory memory, ulong address, ulong length)
    {
        if (!memory.Contains(address, length))
        {
            throw new VirtqueueException(
                VirtqueueViolation.BufferOutsideMemory,
                $"chain buffer range 0x{address:x}+0x{length:x} is outside guest memory");
        }
    }
}
