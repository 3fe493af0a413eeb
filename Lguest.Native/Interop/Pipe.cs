using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>A close-on-exec pipe: a bounded byte channel the kernel can make us wait on, handy for proving short writes.</summary>
internal static unsafe class Pipe
{
    /// <summary>pipe2 with O_CLOEXEC plus <paramref name="flags"/> (O_NONBLOCK applies to both ends).</summary>
    public static (FileDescriptor Read, FileDescriptor Write) Create(int flags = 0)
    {
        int* fds = stackalloc int[2];
        SystemCall.ThrowIfFailed(Linux.pipe2(fds, LibC.O_CLOEXEC | flags), "pipe2");
        return (FileDescriptor.Adopt(fds[0]), FileDescriptor.Adopt(fds[1]));
    }

    /// <summary>Asks for a pipe buffer of <paramref name="bytes"/> (rounded up to a page); returns what the kernel gave.</summary>
    public static int SetCapacity(FileDescriptor descriptor, int bytes)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        return (int)SystemCall.ThrowIfFailed(Linux.fcntl(fd.Number, LibC.F_SETPIPE_SZ, bytes), $"F_SETPIPE_SZ fd {fd.Number}");
    }

    /// <summary>Turns O_NONBLOCK on for one end only.</summary>
    public static void SetNonBlocking(FileDescriptor descriptor)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        int flags = (int)SystemCall.ThrowIfFailed(Linux.fcntl(fd.Number, LibC.F_GETFL, 0), $"F_GETFL fd {fd.Number}");
        SystemCall.ThrowIfFailed(Linux.fcntl(fd.Number, LibC.F_SETFL, flags | LibC.O_NONBLOCK), $"F_SETFL fd {fd.Number}");
    }

    /// <summary>Bytes waiting to be read (FIONREAD).</summary>
    public static int Available(FileDescriptor descriptor)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        int count = 0;
        SystemCall.ThrowIfFailed(Linux.ioctl(fd.Number, (int)LibC.FIONREAD, &count), $"FIONREAD fd {fd.Number}");
        return count;
    }
}
