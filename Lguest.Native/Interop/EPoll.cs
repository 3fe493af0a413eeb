using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>How a registration reports a descriptor.</summary>
public enum EPollTrigger
{
    /// <summary>Reported by every wait while it is readable: for a source read until it would block (a tap).</summary>
    Level,

    /// <summary>
    /// Reported once per change: for an eventfd, every write is a change, even when the counter was not zero, so a
    /// doorbell is never missed and never has to be read (kernel vhost never reads its kick eventfds either).
    /// </summary>
    Edge,
}

/// <summary>One descriptor a wait found ready: the token it was registered with.</summary>
public readonly record struct EPollReady(ulong Token);

/// <summary>
/// An epoll instance. A queue's thread sleeps on the same few descriptors for its whole life, so registering them once
/// (rather than handing poll() the whole set on every sleep) and, for eventfds, edge triggering (rather than a read
/// per wake to reset the counter) take the per-request system calls down to the wait itself. Tokens are the caller's
/// own, never descriptor numbers, so a number reused after a close cannot be mistaken for what was watched.
/// </summary>
public sealed unsafe class EPoll : IDisposable
{
    private const int StackLimit = 16;

    private EPoll(FileDescriptor descriptor) => Descriptor = descriptor;

    public FileDescriptor Descriptor { get; }

    /// <summary>A new, empty, close-on-exec epoll instance.</summary>
    public static EPoll Create()
    {
        int fd = (int)SystemCall.ThrowIfFailed(Linux.epoll_create1(Linux.EPOLL_CLOEXEC), "epoll_create1");
        return new EPoll(FileDescriptor.Adopt(fd));
    }

    /// <summary>Starts reporting <paramref name="descriptor"/> as readable (hang-up and error included) under <paramref name="token"/>.</summary>
    public void Add(FileDescriptor descriptor, ulong token, EPollTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        int events = Linux.EPOLLIN | (trigger == EPollTrigger.Edge ? Linux.EPOLLET : 0);
        Control(Linux.EPOLL_CTL_ADD, descriptor, events, token, "add");
    }

    /// <summary>Stops reporting <paramref name="descriptor"/>; it must still be open (a closed one is gone from the set by itself, unless shared).</summary>
    public void Remove(FileDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        Control(Linux.EPOLL_CTL_DEL, descriptor, 0, 0, "remove");
    }

    /// <summary>
    /// Waits until at least one registered descriptor is ready, or not at all when <paramref name="block"/> is false,
    /// and fills <paramref name="ready"/>; returns how many it filled (0: nothing was ready). EINTR waits again.
    /// </summary>
    public int Wait(Span<EPollReady> ready, bool block)
    {
        int max = Math.Min(ready.Length, StackLimit);
        if (max == 0)
        {
            throw new ArgumentException("room for at least one ready descriptor is needed", nameof(ready));
        }
        Tmds.Linux.epoll_event* events = stackalloc Tmds.Linux.epoll_event[max];
        using FileDescriptor.Lease epoll = Descriptor.Borrow();
        long r = SystemCall.Uninterrupted(new Interruptible.EPollWait(epoll.Number, events, max, block ? -1 : 0));
        SystemCall.ThrowIfFailed(r, "epoll_wait");
        for (int i = 0; i < r; i++)
        {
            ready[i] = new EPollReady(events[i].data.u64);
        }
        return (int)r;
    }

    public void Dispose() => Descriptor.Dispose();

    private void Control(int operation, FileDescriptor descriptor, int events, ulong token, string what)
    {
        using FileDescriptor.Lease epoll = Descriptor.Borrow();
        using FileDescriptor.Lease fd = descriptor.Borrow();
        Tmds.Linux.epoll_event change = default;
        change.events = events;
        change.data.u64 = token;
        SystemCall.ThrowIfFailed(Linux.epoll_ctl(epoll.Number, operation, fd.Number, &change), $"epoll {what} fd {fd.Number}");
    }
}
