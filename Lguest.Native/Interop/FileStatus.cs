using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>fstat for what a descriptor received from another process really is: its size bounds what may be mapped.</summary>
public static unsafe class FileStatus
{
    /// <summary>st_size: a memfd's or file's length (0 for a pipe, socket or eventfd, which cannot be mapped anyway).</summary>
    public static long SizeOf(FileDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        FileStatusBuffer status;
        SystemCall.ThrowIfFailed(Linux.fstat(fd.Number, (Tmds.Linux.stat*)&status), $"fstat fd {fd.Number}");
        return status.Size;
    }
}
