using System.Runtime.InteropServices;
using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// The device-writable part of a popped chain as one stream of bytes, in the manner of rust-vmm's descriptor_utils
/// Writer. What a device writes, through this writer or one split from it, is counted on the chain, and that count
/// is the used length the queue reports (§2.7.8.2): no device computes it. Allocates nothing.
/// </summary>
public ref struct ChainWriter
{
    private readonly GuestMemory _memory;
    private readonly DescriptorChain _chain;
    private readonly ChainCursor _origin;
    private ChainCursor _cursor;

    /// <summary>A writer over the whole writable part; the chain's used length starts again at zero.</summary>
    public ChainWriter(DescriptorChain chain, GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _chain = chain;
        _cursor = new ChainCursor(chain.Writable, chain.WritableBytes);
        _origin = _cursor;
        chain.BytesWritten = 0;
    }

    private ChainWriter(ChainWriter parent, ChainCursor cursor)
    {
        _memory = parent._memory;
        _chain = parent._chain;
        _cursor = cursor;
        _origin = cursor;
    }

    /// <summary>The chain's head descriptor, for messages that name the request.</summary>
    public readonly ushort HeadIndex => _chain.HeadIndex;

    /// <summary>Writable descriptors in the chain, empty ones included: a queue that takes none refuses any.</summary>
    public readonly int BufferCount => _chain.WritableCount;

    /// <summary>Room left in this writer; a ulong because a hostile chain may describe more than 4 GiB.</summary>
    public readonly ulong Available => _cursor.Remaining;

    /// <summary>Bytes written into the chain by this writer and every writer split from it, which is the used length.</summary>
    public readonly ulong BytesWritten => _chain.BytesWritten;

    /// <summary>Why: replies are copied in whatever way the driver cut its buffers. Writes what fits; returns the count.</summary>
    public int Write(scoped ReadOnlySpan<byte> source)
    {
        int written = _cursor.CopyIn(_memory, source);
        _chain.BytesWritten += (ulong)written;
        return written;
    }

    /// <summary>Why: a fixed-layout reply in one step. False, with nothing written, when it does not fit.</summary>
    public bool TryWriteObject<T>(T value)
        where T : unmanaged
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(ref value, 1));
        if ((ulong)bytes.Length > _cursor.Remaining)
        {
            return false;
        }
        Write(bytes);
        return true;
    }

    /// <summary>
    /// Why: bulk data comes from a host file with one readv/preadv straight into guest memory. Host iovecs for the
    /// next min(<paramref name="length"/>, <see cref="Available"/>) bytes, without moving: the host call decides how
    /// much arrived, and <see cref="MarkWritten"/> records it. -1 when more than <paramref name="into"/> holds would be needed.
    /// </summary>
    public readonly int GetIoVectors(scoped Span<IoVector> into, ulong length = ulong.MaxValue) => _cursor.Translate(_memory, length, into);

    /// <summary>Why: records <paramref name="bytes"/> that a host call put through <see cref="GetIoVectors"/>, so they count as used.</summary>
    public void MarkWritten(ulong bytes)
    {
        _cursor.Advance(bytes);
        _chain.BytesWritten += bytes;
    }

    /// <summary>
    /// Why: a trailer of fixed size must land at a fixed place whatever comes before it. This writer keeps the first
    /// <paramref name="length"/> bytes; the returned writer covers the rest, and what it writes is counted too.
    /// </summary>
    public ChainWriter SplitAt(ulong length) => new(this, _cursor.SplitAt(length));

    /// <summary>
    /// Why: the block status byte is the last writable byte (virtio-blk §5.2.6), after data of any length. Returns
    /// a writer for the last <paramref name="length"/> bytes; this one keeps everything before them.
    /// </summary>
    public ChainWriter SplitOffTail(ulong length)
    {
        if (length > _cursor.Remaining)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"only {_cursor.Remaining} bytes are left in the chain");
        }
        return SplitAt(_cursor.Remaining - length);
    }

    /// <summary>
    /// Why: a device that received input zero-copy sometimes has to look at it (the console's ^C). Copies back the
    /// first bytes this writer wrote, up to the destination's length; returns the count.
    /// </summary>
    public readonly int ReadBack(scoped Span<byte> destination)
    {
        ChainCursor written = _origin;
        ulong length = _origin.Remaining - _cursor.Remaining;
        return written.CopyOut(_memory, destination[..(int)Math.Min((ulong)destination.Length, length)]);
    }
}
