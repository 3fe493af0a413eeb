using System.Runtime.InteropServices;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// An owned Linux file descriptor. Closing happens exactly once, when the last user releases it,
/// so a descriptor number can never be reused under a thread that is still reading from it.
/// </summary>
public sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public FileDescriptor(int fd, bool ownsHandle = true)
        : base(invalidHandleValue: -1, ownsHandle)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw number, for diagnostics and for passing as SCM_RIGHTS.</summary>
    public int Number => (int)handle;

    /// <summary>Opens <paramref name="path"/> close-on-exec; failure names the path.</summary>
    public static unsafe FileDescriptor Open(string path, int flags, int mode = 0)
    {
        long fd;
        fixed (byte* name = NativeString.Utf8(path))
        {
            fd = SystemCall.Uninterrupted(new Interruptible.Open(name, flags | LibC.O_CLOEXEC, mode));
        }
        SystemCall.ThrowIfFailed(fd, $"open {path}");
        return new FileDescriptor((int)fd);
    }

    /// <summary>
    /// A second, independently owned descriptor for the same open file (F_DUPFD_CLOEXEC): for handing a front end's
    /// eventfd to a queue that will close its copy on its own schedule.
    /// </summary>
    public FileDescriptor Duplicate()
    {
        using Lease fd = Borrow();
        long copy = SystemCall.Uninterrupted(new Interruptible.DuplicateCloseOnExec(fd.Number));
        SystemCall.ThrowIfFailed(copy, $"duplicate fd {fd.Number}");
        return new FileDescriptor((int)copy);
    }

    /// <summary>Takes ownership of a raw descriptor returned by the kernel (accept, SCM_RIGHTS, ...).</summary>
    public static FileDescriptor Adopt(int fd) => new(fd);

    /// <summary>
    /// Holds a reference for the duration of a native call, so a concurrent Dispose cannot close the descriptor
    /// (and let the number be reused) in the middle of it: <c>using var lease = fd.Lease(); read(lease.Number, ...)</c>.
    /// </summary>
    public Lease Borrow() => new(this);

    protected override bool ReleaseHandle() => Linux.close((int)handle) == 0;

    /// <summary>A reference on an open descriptor; see <see cref="Borrow"/>.</summary>
    public readonly ref struct Lease
    {
        private readonly FileDescriptor _owner;

        internal Lease(FileDescriptor owner)
        {
            bool added = false;
            owner.DangerousAddRef(ref added);
            _owner = owner;
        }

        public int Number => (int)_owner.handle;

        public void Dispose() => _owner.DangerousRelease();
    }
}
