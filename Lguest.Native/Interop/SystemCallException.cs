namespace Lguest.Native.Interop;

/// <summary>
/// A failed system call, carrying the errno the kernel gave and the operation that was being attempted.
/// Every native failure in the project becomes one of these in exactly one place, <see cref="SystemCall"/>.
/// </summary>
public sealed class SystemCallException : IOException
{
    public SystemCallException(string operation, int errno)
        : base($"{operation}: {Interop.Errno.Describe(errno)}")
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>What we were doing, in words a user can act on ("open /dev/lguest").</summary>
    public string Operation { get; }

    /// <summary>The raw errno value.</summary>
    public int Errno { get; }
}
