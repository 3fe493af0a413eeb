namespace Lguest.Native.Interop;

/// <summary>
/// Anonymous memory with a file descriptor, which is what lets two processes share guest RAM: a vhost-user front end
/// sends the descriptor over its socket and the back end maps the same pages.
/// </summary>
public static class MemFd
{
    /// <summary>A close-on-exec memfd of <paramref name="size"/> zeroed bytes; <paramref name="name"/> shows in /proc/pid/fd.</summary>
    public static FileDescriptor Create(string name, ulong size)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (size > long.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "larger than a file can be");
        }
        int number = (int)SystemCall.ThrowIfFailed(LibC.memfd_create(name, LibC.MFD_CLOEXEC), $"memfd_create {name}");
        var descriptor = FileDescriptor.Adopt(number);
        try
        {
            FileIo.Ftruncate(descriptor, (long)size);
        }
        catch
        {
            descriptor.Dispose();
            throw;
        }
        return descriptor;
    }
}
