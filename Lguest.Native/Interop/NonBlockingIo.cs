namespace Lguest.Native.Interop;

/// <summary>
/// Reads that never wait. A queue's thread must not sleep in read: the guest may be waiting for an interrupt on
/// another buffer, and a stop must not be stuck behind a quiet terminal. So a read is made only when it cannot
/// block, and "nothing yet" is an answer rather than an error.
/// </summary>
public static unsafe class NonBlockingIo
{
    /// <summary>The result meaning "nothing to read right now".</summary>
    public const long WouldBlock = -1;

    /// <summary>
    /// read on a descriptor opened O_NONBLOCK (a tap, a socket): bytes read, 0 at end of file, or
    /// <see cref="WouldBlock"/>.
    /// </summary>
    public static long TryRead(FileDescriptor descriptor, Span<byte> buffer)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (byte* p = buffer)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.Read(fd.Number, p, (nuint)buffer.Length));
            if (SystemCall.ErrnoOf(r) == Errno.EAGAIN)
            {
                return WouldBlock;
            }
            return SystemCall.ThrowIfFailed(r, $"read fd {fd.Number}");
        }
    }

    /// <summary>
    /// Whether a read from <paramref name="descriptor"/> would return at once (data, end of file or an error): for
    /// descriptors we must not switch to O_NONBLOCK, such as a terminal shared with the user's shell, where the flag
    /// would leak into every other process on it. A zero-timeout <see cref="Poll"/>.
    /// </summary>
    public static bool IsReadable(FileDescriptor descriptor) => Poll.WaitReadable(descriptor, TimeSpan.Zero);
}
