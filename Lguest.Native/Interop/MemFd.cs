using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// Anonymous memory with a file descriptor, which is what lets two processes share guest RAM: a vhost-user front end
/// sends the descriptor over its socket and the back end maps the same pages.
/// </summary>
public static class MemFd
{
    /// <summary>
    /// A close-on-exec memfd of <paramref name="size"/> zeroed bytes; <paramref name="name"/> shows in /proc/pid/fd.
    /// Sealed against shrinking and growing by default, as QEMU seals guest RAM: a vhost-user back end refuses an
    /// unsealed region, because a front end that truncates it under a running ring would fault the back end (SIGBUS).
    /// </summary>
    public static FileDescriptor Create(string name, ulong size, bool sealSize = true)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (size > long.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "larger than a file can be");
        }
        uint flags = LibC.MFD_CLOEXEC | (sealSize ? LibC.MFD_ALLOW_SEALING : 0);
        int number;
        unsafe
        {
            fixed (byte* nativeName = NativeString.Utf8(name))
            {
                number = (int)SystemCall.ThrowIfFailed(Linux.memfd_create(nativeName, flags), $"memfd_create {name}");
            }
        }
        var descriptor = FileDescriptor.Adopt(number);
        try
        {
            FileIo.Ftruncate(descriptor, (long)size);
            if (sealSize)
            {
                using FileDescriptor.Lease fd = descriptor.Borrow();
                SystemCall.ThrowIfFailed(Linux.fcntl(fd.Number, LibC.F_ADD_SEALS, LibC.F_SEAL_SHRINK | LibC.F_SEAL_GROW), $"seal memfd {name}");
            }
        }
        catch
        {
            descriptor.Dispose();
            throw;
        }
        return descriptor;
    }
}
