using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// An eventfd: the doorbell a guest rings to kick a virtqueue (the kernel writes it on LHCALL_NOTIFY, or QEMU
/// on a vhost-user kick) and the doorbell we ring to interrupt the guest (vhost-user's call fd).
/// </summary>
public sealed class EventFd : IDisposable
{
    private EventFd(FileDescriptor descriptor) => Descriptor = descriptor;

    public FileDescriptor Descriptor { get; }

    /// <summary>A new, zeroed, close-on-exec eventfd; non-blocking when asked.</summary>
    public static EventFd Create(bool nonBlocking = false)
    {
        int flags = LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0);
        int fd = (int)SystemCall.ThrowIfFailed(Linux.eventfd(0, flags), "eventfd");
        return new EventFd(FileDescriptor.Adopt(fd));
    }

    /// <summary>Wraps an eventfd received from elsewhere (a vhost-user front end's kick or call fd).</summary>
    public static EventFd Adopt(FileDescriptor descriptor) => new(descriptor);

    /// <summary>Adds one to the counter, waking any reader.</summary>
    public unsafe void Signal(ulong value = 1)
    {
        using FileDescriptor.Lease fd = Descriptor.Borrow();
        long r = SystemCall.Uninterrupted(new Interruptible.Write(fd.Number, &value, sizeof(ulong)));
        SystemCall.ThrowIfFailed(r, "signal eventfd");
    }

    /// <summary>
    /// Reads and clears the counter, returning how many signals it held; blocks on a blocking eventfd,
    /// and returns 0 on a non-blocking one that was not signalled.
    /// </summary>
    public unsafe ulong Drain()
    {
        using FileDescriptor.Lease fd = Descriptor.Borrow();
        ulong value = 0;
        long r = SystemCall.Uninterrupted(new Interruptible.Read(fd.Number, &value, sizeof(ulong)));
        if (SystemCall.ErrnoOf(r) == Errno.EAGAIN)
        {
            return 0;
        }
        SystemCall.ThrowIfFailed(r, "read eventfd");
        return value;
    }

    public void Dispose() => Descriptor.Dispose();
}
