using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// Random access, by offset, into a popped chain's readable or writable part, for test device sides that look at
/// a chain from outside. Devices use <see cref="ChainReader"/> and <see cref="ChainWriter"/>, which walk forward
/// and count the used length; this is the same walk (<see cref="ChainCursor"/>) started at an offset.
/// </summary>
public static class DescriptorChainData
{
    /// <summary>
    /// Copies the readable part, from <paramref name="offset"/> on, into <paramref name="destination"/>. Returns the
    /// bytes copied, fewer than asked when the chain is shorter.
    /// </summary>
    public static int CopyFromReadable(this DescriptorChain chain, GuestMemory memory, ulong offset, Span<byte> destination)
    {
        ChainCursor cursor = Readable(chain, memory, offset);
        return cursor.CopyOut(memory, destination);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the writable part from <paramref name="offset"/> on, bounded by
    /// <see cref="DescriptorChain.WritableBytes"/>; returns the bytes written.
    /// </summary>
    public static int CopyToWritable(this DescriptorChain chain, GuestMemory memory, ulong offset, ReadOnlySpan<byte> source)
    {
        ChainCursor cursor = Writable(chain, memory, offset);
        return cursor.CopyIn(memory, source);
    }

    /// <summary>
    /// Host iovecs for up to <paramref name="length"/> bytes of the readable part from <paramref name="offset"/>.
    /// Returns the count, or -1 if <paramref name="into"/> is too small.
    /// </summary>
    public static int GetReadableIoVectors(this DescriptorChain chain, GuestMemory memory, Span<IoVector> into, ulong offset = 0, ulong length = ulong.MaxValue)
        => Readable(chain, memory, offset).Translate(memory, length, into);

    /// <summary>Host iovecs for the writable part; see <see cref="GetReadableIoVectors"/>.</summary>
    public static int GetWritableIoVectors(this DescriptorChain chain, GuestMemory memory, Span<IoVector> into, ulong offset = 0, ulong length = ulong.MaxValue)
        => Writable(chain, memory, offset).Translate(memory, length, into);

    private static ChainCursor Readable(DescriptorChain chain, GuestMemory memory, ulong offset)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        var cursor = new ChainCursor(chain.Readable, chain.ReadableBytes);
        cursor.Advance(Math.Min(offset, cursor.Remaining));
        return cursor;
    }

    private static ChainCursor Writable(DescriptorChain chain, GuestMemory memory, ulong offset)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        var cursor = new ChainCursor(chain.Writable, chain.WritableBytes);
        cursor.Advance(Math.Min(offset, cursor.Remaining));
        return cursor;
    }
}
