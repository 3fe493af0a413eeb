namespace Lguest.Native.Interop;

/// <summary>
/// readv and friends over a descriptor. A guest buffer is a chain of pieces of guest memory, and these let us hand
/// the whole chain to the kernel in one call instead of copying it together first.
/// EINTR is retried here; every other failure is a <see cref="SystemCallException"/>.
/// </summary>
public static unsafe class ScatterGatherIo
{
    /// <summary>readv: bytes read, 0 at end of file.</summary>
    public static long ReadV(FileDescriptor descriptor, ReadOnlySpan<IoVector> vectors)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (IoVector* iov = vectors)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.ReadVector(fd.Number, iov, vectors.Length));
            return SystemCall.ThrowIfFailed(r, $"readv fd {fd.Number}");
        }
    }

    /// <summary>writev: bytes written, which may be fewer than offered.</summary>
    public static long WriteV(FileDescriptor descriptor, ReadOnlySpan<IoVector> vectors)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (IoVector* iov = vectors)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.WriteVector(fd.Number, iov, vectors.Length));
            return SystemCall.ThrowIfFailed(r, $"writev fd {fd.Number}");
        }
    }

    /// <summary>preadv at <paramref name="offset"/>: bytes read, 0 at end of file.</summary>
    public static long PReadV(FileDescriptor descriptor, ReadOnlySpan<IoVector> vectors, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (IoVector* iov = vectors)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.PositionalReadVector(fd.Number, iov, vectors.Length, offset));
            return SystemCall.ThrowIfFailed(r, $"preadv fd {fd.Number} at {offset}");
        }
    }

    /// <summary>pwritev at <paramref name="offset"/>: bytes written, which may be fewer than offered.</summary>
    public static long PWriteV(FileDescriptor descriptor, ReadOnlySpan<IoVector> vectors, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (IoVector* iov = vectors)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.PositionalWriteVector(fd.Number, iov, vectors.Length, offset));
            return SystemCall.ThrowIfFailed(r, $"pwritev fd {fd.Number} at {offset}");
        }
    }

    /// <summary>
    /// Console output must all reach the terminal: writev may stop short (a pipe that fills, a signal), so we keep
    /// consuming what went and writing the rest. A non-blocking descriptor that fills is waited on rather than
    /// failed. <paramref name="vectors"/> is consumed in place and is empty on return.
    /// </summary>
    public static void WriteAll(FileDescriptor descriptor, Span<IoVector> vectors)
    {
        Span<IoVector> rest = IoVectors.Consume(vectors, 0);
        while (!rest.IsEmpty)
        {
            long written = TryWriteV(descriptor, rest[..Math.Min(rest.Length, LibC.IOV_MAX)]);
            if (written < 0)
            {
                Poll.WaitWritable(descriptor, Timeout.InfiniteTimeSpan);
                continue;
            }
            if (written == 0)
            {
                // writev of a non-empty buffer never legitimately returns 0; looping would spin forever.
                throw new IOException($"writev fd {descriptor.Number} wrote nothing");
            }
            rest = IoVectors.Consume(rest, (ulong)written);
        }
    }

    /// <summary>
    /// Writes every byte at <paramref name="offset"/> onwards (a disk write must land whole or be reported).
    /// <paramref name="vectors"/> is consumed in place.
    /// </summary>
    public static void PWriteAll(FileDescriptor descriptor, Span<IoVector> vectors, long offset)
    {
        Span<IoVector> rest = IoVectors.Consume(vectors, 0);
        while (!rest.IsEmpty)
        {
            long written = PWriteV(descriptor, rest[..Math.Min(rest.Length, LibC.IOV_MAX)], offset);
            if (written == 0)
            {
                throw new IOException($"pwritev fd {descriptor.Number} at {offset} wrote nothing");
            }
            rest = IoVectors.Consume(rest, (ulong)written);
            offset += written;
        }
    }

    /// <summary>
    /// Fills <paramref name="vectors"/> from <paramref name="offset"/>, stopping early only at end of file; returns
    /// the bytes read. <paramref name="vectors"/> is consumed in place by what was read.
    /// </summary>
    public static long PReadAll(FileDescriptor descriptor, Span<IoVector> vectors, long offset)
    {
        long total = 0;
        Span<IoVector> rest = IoVectors.Consume(vectors, 0);
        while (!rest.IsEmpty)
        {
            long read = PReadV(descriptor, rest[..Math.Min(rest.Length, LibC.IOV_MAX)], offset);
            if (read == 0)
            {
                break;
            }
            rest = IoVectors.Consume(rest, (ulong)read);
            offset += read;
            total += read;
        }
        return total;
    }

    /// <summary>writev that reports "would block" as -1 instead of throwing, for <see cref="WriteAll"/>.</summary>
    private static long TryWriteV(FileDescriptor descriptor, ReadOnlySpan<IoVector> vectors)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (IoVector* iov = vectors)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.WriteVector(fd.Number, iov, vectors.Length));
            if (SystemCall.ErrnoOf(r) == Errno.EAGAIN)
            {
                return -1;
            }
            return SystemCall.ThrowIfFailed(r, $"writev fd {fd.Number}");
        }
    }
}
