using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// Plain and positional I/O on a single buffer. Disk images are always addressed by offset (pread/pwrite), so
/// several queues can share one descriptor without fighting over its file position.
/// </summary>
public static unsafe class FileIo
{
    /// <summary>read: bytes read, 0 at end of file.</summary>
    public static int Read(FileDescriptor descriptor, Span<byte> buffer)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (byte* p = buffer)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.Read(fd.Number, p, (nuint)buffer.Length));
            return (int)SystemCall.ThrowIfFailed(r, $"read fd {fd.Number}");
        }
    }

    /// <summary>write: bytes written, which may be fewer than offered.</summary>
    public static int Write(FileDescriptor descriptor, ReadOnlySpan<byte> buffer)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (byte* p = buffer)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.Write(fd.Number, p, (nuint)buffer.Length));
            return (int)SystemCall.ThrowIfFailed(r, $"write fd {fd.Number}");
        }
    }

    /// <summary>pread at <paramref name="offset"/>: bytes read, 0 at end of file.</summary>
    public static int Pread(FileDescriptor descriptor, Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (byte* p = buffer)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.PositionalRead(fd.Number, p, (nuint)buffer.Length, offset));
            return (int)SystemCall.ThrowIfFailed(r, $"pread fd {fd.Number} at {offset}");
        }
    }

    /// <summary>pwrite at <paramref name="offset"/>: bytes written, which may be fewer than offered.</summary>
    public static int Pwrite(FileDescriptor descriptor, ReadOnlySpan<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        fixed (byte* p = buffer)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.PositionalWrite(fd.Number, p, (nuint)buffer.Length, offset));
            return (int)SystemCall.ThrowIfFailed(r, $"pwrite fd {fd.Number} at {offset}");
        }
    }

    /// <summary>A guest's flush: the data (not necessarily the timestamps) is on stable storage when this returns.</summary>
    public static void Fdatasync(FileDescriptor descriptor)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        long r = SystemCall.Uninterrupted(new Interruptible.DataSync(fd.Number));
        SystemCall.ThrowIfFailed(r, $"fdatasync fd {fd.Number}");
    }

    /// <summary>Sets the file's length, growing it with zeroes or cutting it short.</summary>
    public static void Ftruncate(FileDescriptor descriptor, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        using FileDescriptor.Lease fd = descriptor.Borrow();
        long r = SystemCall.Uninterrupted(new Interruptible.Truncate(fd.Number, length));
        SystemCall.ThrowIfFailed(r, $"ftruncate fd {fd.Number} to {length}");
    }

    /// <summary>
    /// The size in bytes, found by seeking to the end as the block device code always has: fstat reports 0 for a
    /// block device, while SEEK_END works for both disks and files. The file position is put back afterwards.
    /// </summary>
    public static long GetSize(FileDescriptor descriptor)
    {
        using FileDescriptor.Lease fd = descriptor.Borrow();
        long position = SystemCall.ThrowIfFailed(Linux.lseek(fd.Number, 0, LibC.SEEK_CUR), $"lseek fd {fd.Number}");
        long size = SystemCall.ThrowIfFailed(Linux.lseek(fd.Number, 0, LibC.SEEK_END), $"lseek fd {fd.Number} to its end");
        SystemCall.ThrowIfFailed(Linux.lseek(fd.Number, position, LibC.SEEK_SET), $"lseek fd {fd.Number} back to {position}");
        return size;
    }
}
