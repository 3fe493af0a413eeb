using System.Text;
using Lguest.Native.Interop;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Lguest;

/// <summary>
/// Says what kind of file a descriptor of this process is ("anon_inode:[eventfd]", "pipe:[...]"), as the kernel
/// knows when it looks one up: a model of the kernel needs it to answer EBADF or EINVAL as eventfd_ctx_fdget() does.
/// /proc/self/fd is opened once, up front, so the answer survives the seed's chroot into a tree without /proc.
/// </summary>
public sealed unsafe class OpenFileInspector : IDisposable
{
    private readonly FileDescriptor _directory;

    public OpenFileInspector()
    {
        byte[] path = Encoding.ASCII.GetBytes("/proc/self/fd\0");
        int fd;
        fixed (byte* p = path)
        {
            fd = Linux.open(p, Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        }
        if (fd < 0)
        {
            SystemCall.Throw(Linux.errno, "open /proc/self/fd");
        }
        _directory = FileDescriptor.Adopt(fd);
    }

    /// <summary>The descriptor's link in /proc/self/fd, or null when <paramref name="fd"/> is not open.</summary>
    public string? Describe(int fd)
    {
        if (fd < 0)
        {
            return null;
        }
        byte[] name = Encoding.ASCII.GetBytes($"{fd}\0");
        byte* target = stackalloc byte[256];
        using FileDescriptor.Lease directory = _directory.Borrow();
        long length;
        fixed (byte* p = name)
        {
            length = Linux.readlinkat(directory.Number, p, target, 256);
        }
        return length < 0 ? null : Encoding.UTF8.GetString(target, (int)length);
    }

    public void Dispose() => _directory.Dispose();
}
