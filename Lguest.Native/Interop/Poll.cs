namespace Lguest.Native.Interop;

/// <summary>What poll(2) can report about a descriptor.</summary>
[Flags]
public enum PollEvents : short
{
    None = 0,
    In = LibC.POLLIN,
    Out = LibC.POLLOUT,
    Error = LibC.POLLERR,
    HangUp = LibC.POLLHUP,
    Invalid = LibC.POLLNVAL,
}

/// <summary>
/// poll(2) over a handful of descriptors, for one-off waits (a socket with a deadline, a test's eventfd). A queue's
/// thread, which sleeps on the same descriptors all its life, uses <see cref="EPoll"/> instead.
/// EINTR is retried with whatever time is left, so a signal neither ends the wait early nor stretches it.
/// </summary>
public static unsafe class Poll
{
    private const int StackLimit = 16;

    /// <summary>
    /// Waits until a read from at least one of <paramref name="descriptors"/> would not block, or
    /// <paramref name="timeout"/> passes (<see cref="Timeout.InfiniteTimeSpan"/> waits for ever). On return
    /// <paramref name="readable"/>[i] says whether descriptor i is ready; the result is how many are (0: timed out).
    /// Hang-up and error count as readable: the read that follows reports end of file or the error itself.
    /// </summary>
    public static int WaitReadable(ReadOnlySpan<FileDescriptor> descriptors, Span<bool> readable, TimeSpan timeout)
    {
        if (readable.Length < descriptors.Length)
        {
            throw new ArgumentException("one flag per descriptor is needed", nameof(readable));
        }
        Span<PollEvents> returned = descriptors.Length <= StackLimit ? stackalloc PollEvents[descriptors.Length] : new PollEvents[descriptors.Length];
        Wait(descriptors, PollEvents.In, returned, timeout);
        int ready = 0;
        for (int i = 0; i < descriptors.Length; i++)
        {
            readable[i] = (returned[i] & (PollEvents.In | PollEvents.HangUp | PollEvents.Error)) != 0;
            ready += readable[i] ? 1 : 0;
        }
        return ready;
    }

    /// <summary>Waits until a read from <paramref name="descriptor"/> would not block; false when the time ran out.</summary>
    public static bool WaitReadable(FileDescriptor descriptor, TimeSpan timeout)
    {
        Span<bool> readable = stackalloc bool[1];
        return WaitReadable([descriptor], readable, timeout) == 1;
    }

    /// <summary>Waits until a write to <paramref name="descriptor"/> would not block; false when the time ran out.</summary>
    public static bool WaitWritable(FileDescriptor descriptor, TimeSpan timeout)
    {
        Span<PollEvents> returned = stackalloc PollEvents[1];
        return Wait([descriptor], PollEvents.Out, returned, timeout) == 1;
    }

    /// <summary>
    /// poll(2) itself: asks for <paramref name="interest"/> on every descriptor and fills <paramref name="returned"/>
    /// with what each reported. Returns how many reported anything; 0 on timeout.
    /// </summary>
    public static int Wait(ReadOnlySpan<FileDescriptor> descriptors, PollEvents interest, Span<PollEvents> returned, TimeSpan timeout)
    {
        if (returned.Length < descriptors.Length)
        {
            throw new ArgumentException("one result per descriptor is needed", nameof(returned));
        }
        long total = ToMilliseconds(timeout);
        long deadline = total < 0 ? 0 : Environment.TickCount64 + total;

        int count = descriptors.Length;
        Span<PollFd> fds = count <= StackLimit ? stackalloc PollFd[count] : new PollFd[count];
        Span<bool> added = count <= StackLimit ? stackalloc bool[count] : new bool[count];
        try
        {
            // Hold a reference on every descriptor for the whole wait, as a lease does for one: a concurrent
            // Dispose must not close a number the kernel is still watching.
            for (int i = 0; i < count; i++)
            {
                descriptors[i].DangerousAddRef(ref added[i]);
                fds[i] = new PollFd { Fd = (int)descriptors[i].DangerousGetHandle(), Events = (short)interest };
            }
            long r;
            fixed (PollFd* p = fds)
            {
                r = SystemCall.Uninterrupted(new Interruptible.PollUntil(p, count, forever: total < 0, deadline));
            }
            SystemCall.ThrowIfFailed(r, "poll");
            for (int i = 0; i < count; i++)
            {
                var events = (PollEvents)fds[i].ReturnedEvents;
                if ((events & PollEvents.Invalid) != 0)
                {
                    SystemCall.Throw(Errno.EBADF, $"poll fd {fds[i].Fd}");
                }
                returned[i] = events;
            }
            return (int)r;
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                if (added[i])
                {
                    descriptors[i].DangerousRelease();
                }
            }
        }
    }

    /// <summary>poll's timeout in whole milliseconds, rounded up so a short wait does not become a busy spin; -1 for ever.</summary>
    private static long ToMilliseconds(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return -1;
        }
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "negative timeout");
        }
        return (long)Math.Ceiling(timeout.TotalMilliseconds);
    }
}
