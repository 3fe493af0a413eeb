using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// Moving bytes between a popped chain and the device, by offset into the chain's readable or writable part, so a
/// device never cares how the driver happened to split a request into buffers (§2.7.4.1: no assumptions about
/// framing). Works from the snapshot only; nothing here allocates.
/// </summary>
public static class DescriptorChainData
{
    /// <summary>
    /// Copies the readable part, from <paramref name="offset"/> on, into <paramref name="destination"/>: how a
    /// device reads a request header. Returns the bytes copied, fewer than asked when the chain is shorter.
    /// </summary>
    public static int CopyFromReadable(this DescriptorChain chain, GuestMemory memory, ulong offset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        int copied = 0;
        foreach (ChainBuffer buffer in chain.Readable)
        {
            if (destination.IsEmpty)
            {
                break;
            }
            if (offset >= buffer.Length)
            {
                offset -= buffer.Length;
                continue;
            }
            int chunk = (int)Math.Min(buffer.Length - offset, (ulong)destination.Length);
            memory.Read(buffer.Address + offset, destination[..chunk]);
            destination = destination[chunk..];
            copied += chunk;
            offset = 0;
        }
        return copied;
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the writable part from <paramref name="offset"/> on: how a device
    /// writes a reply or a status byte. Bounded by <see cref="DescriptorChain.WritableBytes"/>; returns the bytes
    /// written, which is what the device reports as the used length.
    /// </summary>
    public static int CopyToWritable(this DescriptorChain chain, GuestMemory memory, ulong offset, ReadOnlySpan<byte> source)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        int written = 0;
        foreach (ChainBuffer buffer in chain.Writable)
        {
            if (source.IsEmpty)
            {
                break;
            }
            if (offset >= buffer.Length)
            {
                offset -= buffer.Length;
                continue;
            }
            int chunk = (int)Math.Min(buffer.Length - offset, (ulong)source.Length);
            memory.Write(buffer.Address + offset, source[..chunk]);
            source = source[chunk..];
            written += chunk;
            offset = 0;
        }
        return written;
    }

    /// <summary>
    /// Host iovecs for up to <paramref name="length"/> bytes of the readable part from <paramref name="offset"/>,
    /// so a device can writev() guest memory without copying. Returns the count, or -1 if
    /// <paramref name="into"/> is too small.
    /// </summary>
    public static int GetReadableIoVectors(this DescriptorChain chain, GuestMemory memory, Span<IoVector> into, ulong offset = 0, ulong length = ulong.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(chain);
        return Translate(chain.Readable, memory, into, offset, length);
    }

    /// <summary>Host iovecs for the writable part, for a zero-copy readv() into guest memory; see <see cref="GetReadableIoVectors"/>.</summary>
    public static int GetWritableIoVectors(this DescriptorChain chain, GuestMemory memory, Span<IoVector> into, ulong offset = 0, ulong length = ulong.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(chain);
        return Translate(chain.Writable, memory, into, offset, length);
    }

    private static int Translate(ReadOnlySpan<ChainBuffer> buffers, GuestMemory memory, Span<IoVector> into, ulong offset, ulong length)
    {
        ArgumentNullException.ThrowIfNull(memory);
        int count = 0;
        foreach (ChainBuffer buffer in buffers)
        {
            if (length == 0)
            {
                break;
            }
            if (offset >= buffer.Length)
            {
                offset -= buffer.Length;
                continue;
            }
            ulong chunk = Math.Min(buffer.Length - offset, length);
            int added = memory.Translate(buffer.Address + offset, chunk, into[count..]);
            if (added < 0)
            {
                return -1;
            }
            count += added;
            length -= chunk;
            offset = 0;
        }
        return count;
    }
}
