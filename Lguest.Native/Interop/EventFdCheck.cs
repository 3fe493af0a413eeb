using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// What a vhost-user front end sends as a kick, call or error fd is only an eventfd if the kernel says so. A regular
/// file, a pipe or a directory in its place would spin a poller (always readable), block a writer (a full pipe) or
/// fail every read; so each one is checked when it arrives and switched to non-blocking, and anything else is refused
/// with the fd's real kind in the message.
/// </summary>
public static class EventFdCheck
{
    private const string EventFdLink = "anon_inode:[eventfd]";

    /// <summary>
    /// Null when <paramref name="descriptor"/> is an eventfd (now non-blocking), or the reason it cannot be used,
    /// naming what it really is ("pipe:[1234]", "/tmp/file").
    /// </summary>
    public static string? Accept(FileDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        string? kind = KindOf(descriptor);
        if (kind != EventFdLink)
        {
            return $"fd is {(kind is null ? "of an unknown kind" : $"'{kind}'")}, not an eventfd";
        }
        if (IsSemaphore(descriptor))
        {
            // Each read would take one from the counter: a kick counter the front end set to 2^64-2 would keep a
            // reader busy for ever.
            return "the eventfd is in semaphore mode (EFD_SEMAPHORE); a doorbell must be read whole";
        }
        using FileDescriptor.Lease fd = descriptor.Borrow();
        int flags = Linux.fcntl(fd.Number, LibC.F_GETFL, 0);
        if (flags < 0 || ((flags & LibC.O_NONBLOCK) == 0 && Linux.fcntl(fd.Number, LibC.F_SETFL, flags | LibC.O_NONBLOCK) < 0))
        {
            return $"the eventfd cannot be made non-blocking: {Errno.Describe(SystemCall.LastErrno)}";
        }
        return null;
    }

    private static bool IsSemaphore(FileDescriptor descriptor)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        try
        {
            return File.ReadLines($"/proc/self/fdinfo/{fd.Number}")
                .Any(line => line.StartsWith("eventfd-semaphore:", StringComparison.Ordinal) && line.EndsWith('1'));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>What /proc/self/fd says the descriptor is: a path, or "anon_inode:[eventfd]", "pipe:[n]", "socket:[n]".</summary>
    public static string? KindOf(FileDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        try
        {
            return new FileInfo($"/proc/self/fd/{fd.Number}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
