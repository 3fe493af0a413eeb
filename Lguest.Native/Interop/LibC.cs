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
/// libc entry points Tmds.LibC does not provide, or provides without errno capture.
/// Raw: callers go through <see cref="SystemCall"/> for errno and EINTR handling.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    [LibraryImport(Library, EntryPoint = "readv", SetLastError = true)]
    public static partial nint readv(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, EntryPoint = "writev", SetLastError = true)]
    public static partial nint writev(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, EntryPoint = "preadv", SetLastError = true)]
    public static partial nint preadv(int fd, IoVector* iov, int iovcnt, long offset);

    [LibraryImport(Library, EntryPoint = "pwritev", SetLastError = true)]
    public static partial nint pwritev(int fd, IoVector* iov, int iovcnt, long offset);

    [LibraryImport(Library, EntryPoint = "pread", SetLastError = true)]
    public static partial nint pread(int fd, void* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint pwrite(int fd, void* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    public static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport(Library, EntryPoint = "mprotect", SetLastError = true)]
    public static partial int mprotect(nint addr, nuint length, int prot);

    [LibraryImport(Library, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Library, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Library, EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl_int(int fd, nuint request, nint argument);

    [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Library, EntryPoint = "dup2", SetLastError = true)]
    public static partial int dup2(int oldfd, int newfd);

    [LibraryImport(Library, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport(Library, EntryPoint = "mincore", SetLastError = true)]
    public static partial int mincore(nint addr, nuint length, byte* vector);

    [LibraryImport(Library, EntryPoint = "getpagesize")]
    public static partial int getpagesize();

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
