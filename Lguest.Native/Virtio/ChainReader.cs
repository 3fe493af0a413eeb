using System.Runtime.InteropServices;
using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// The device-readable part of a popped chain as one stream of bytes, in the manner of rust-vmm's descriptor_utils
/// Reader: a device reads a header as an object and hands the rest to a host call as iovecs, and never does offset
/// arithmetic over the driver's buffers (§2.7.4.1: no assumptions about framing). It reads the queue's checked
/// snapshot, never the descriptor table again, and allocates nothing.
/// </summary>
public ref struct ChainReader
{
    private readonly GuestMemory _memory;
    private ChainCursor _cursor;

    public ChainReader(DescriptorChain chain, GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _cursor = new ChainCursor(chain.Readable, chain.ReadableBytes);
        HeadIndex = chain.HeadIndex;
        BufferCount = chain.ReadableCount;
    }

    /// <summary>The chain's head descriptor, for messages that name the request.</summary>
    public ushort HeadIndex { get; }

    /// <summary>Readable descriptors in the chain, empty ones included: a queue that takes none refuses any.</summary>
    public int BufferCount { get; }

    /// <summary>Bytes not yet read; a ulong because a hostile chain may describe more than 4 GiB.</summary>
    public readonly ulong Remaining => _cursor.Remaining;

    /// <summary>Why: a request header may be split across descriptors. Copies up to the destination's length; returns the count.</summary>
    public int Read(scoped Span<byte> destination) => _cursor.CopyOut(_memory, destination);

    /// <summary>
    /// Why: a device parses a fixed-layout header in one step. False, with nothing consumed, when fewer than
    /// sizeof(<typeparamref name="T"/>) bytes remain.
    /// </summary>
    public bool TryReadObject<T>(out T value)
        where T : unmanaged
    {
        value = default;
        Span<byte> bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1));
        if ((ulong)bytes.Length > _cursor.Remaining)
        {
            return false;
        }
        _cursor.CopyOut(_memory, bytes);
        return true;
    }

    /// <summary>Why: data the device does not need (padding, a header it ignores) is stepped over. Returns the bytes skipped.</summary>
    public ulong Consume(ulong length)
    {
        length = Math.Min(length, _cursor.Remaining);
        _cursor.Advance(length);
        return length;
    }

    /// <summary>
    /// Why: bulk data goes to a host file with one writev/pwritev straight from guest memory. Fills
    /// <paramref name="into"/> with host iovecs for the next min(<paramref name="length"/>, <see cref="Remaining"/>)
    /// bytes and moves past them; returns the count, or -1 (nothing consumed) when more than
    /// <paramref name="into"/> holds would be needed.
    /// </summary>
    public int ConsumeIoVectors(scoped Span<IoVector> into, ulong length = ulong.MaxValue)
    {
        length = Math.Min(length, _cursor.Remaining);
        int count = _cursor.Translate(_memory, length, into);
        if (count >= 0)
        {
            _cursor.Advance(length);
        }
        return count;
    }
}
