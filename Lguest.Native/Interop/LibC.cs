using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>A scatter-gather element, laid out as the kernel's struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoVector
{
    public nint Base;
    public nuint Length;

    public IoVector(nint @base, nuint length)
    {
        Base = @base;
        Length = length;
    }
}

/// <summary>
/// The libc entry points we bind ourselves, because Tmds.LibC (used for every other call) cannot serve them, and the
/// constants and layouts the project names. Tmds.LibC declares its bindings with SetLastError = true and reads errno
/// back through Marshal.GetLastWin32Error, the same captured value <see cref="SystemCall.LastErrno"/> reads; the
/// exception is its poll, declared without SetLastError, so its errno would be stale and EINTR could not be seen.
/// Raw: callers go through <see cref="SystemCall"/> for errno and EINTR handling.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    // Tmds.LibC 0.5.0 has no vectored I/O: readv, writev, preadv and pwritev are missing.
    [LibraryImport(Library, EntryPoint = "readv", SetLastError = true)]
    public static partial nint readv(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, EntryPoint = "writev", SetLastError = true)]
    public static partial nint writev(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, EntryPoint = "preadv", SetLastError = true)]
    public static partial nint preadv(int fd, IoVector* iov, int iovcnt, long offset);

    [LibraryImport(Library, EntryPoint = "pwritev", SetLastError = true)]
    public static partial nint pwritev(int fd, IoVector* iov, int iovcnt, long offset);

    // Tmds.LibC 0.5.0 declares poll without SetLastError, so EINTR and every other poll error would be unreadable.
    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int O_DIRECT = 0x4000;

    public const int PROT_NONE = 0;
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_NORESERVE = 0x4000;

    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;
    public const uint MFD_CLOEXEC = 1;

    public const int SEEK_SET = 0;
    public const int SEEK_CUR = 1;
    public const int SEEK_END = 2;

    public const int F_DUPFD_CLOEXEC = 1030;
    public const int F_GETFD = 1;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int F_SETPIPE_SZ = 1031;
    public const int F_GETPIPE_SZ = 1032;

    public const nuint FIONREAD = 0x541B;

    /// <summary>The most iovecs one readv/writev accepts (UIO_MAXIOV).</summary>
    public const int IOV_MAX = 1024;

    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;
}

/// <summary>struct pollfd.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short ReturnedEvents;
}
