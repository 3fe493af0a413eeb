using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// Whether a front end's memory-region fd is safe to map. Once mapped, every access is a plain load or store: a file
/// that shrinks under the mapping makes the next one a SIGBUS, which .NET cannot catch, so it would end the launcher.
/// Only a descriptor the kernel promises cannot shrink is mapped: a memfd (or hugetlbfs memfd) carrying F_SEAL_SHRINK,
/// as QEMU's memory-backend-memfd always does. It must also be writable (F_SEAL_WRITE and an O_RDONLY open both make
/// a shared writable mmap fail), since the back end writes the used ring and the guest's buffers.
/// </summary>
public static class SharedMemoryCheck
{
    /// <summary>Null when <paramref name="descriptor"/> can be mapped shared and read-write; otherwise why not.</summary>
    public static string? Refusal(FileDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        int seals = Linux.fcntl(fd.Number, LibC.F_GET_SEALS, 0);
        if (seals < 0)
        {
            return $"fd is {Describe(descriptor)}, not a memfd: only a memfd sealed with F_SEAL_SHRINK is mapped, since any other file can shrink under the mapping";
        }
        if ((seals & LibC.F_SEAL_SHRINK) == 0)
        {
            return $"the memfd is not sealed with F_SEAL_SHRINK (seals 0x{seals:x}): it could shrink under the mapping";
        }
        if ((seals & (LibC.F_SEAL_WRITE | LibC.F_SEAL_FUTURE_WRITE)) != 0)
        {
            return $"the memfd is sealed against writes (seals 0x{seals:x}); the back end must write guest memory";
        }
        int flags = Linux.fcntl(fd.Number, LibC.F_GETFL, 0);
        if (flags < 0 || (flags & LibC.O_ACCMODE) != LibC.O_RDWR)
        {
            return "the memfd is not open for reading and writing";
        }
        return null;
    }

    private static string Describe(FileDescriptor descriptor) => EventFdCheck.KindOf(descriptor) is { } kind ? $"'{kind}'" : "of an unknown kind";
}
