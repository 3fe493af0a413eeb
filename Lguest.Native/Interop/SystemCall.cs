using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>
/// The one place where a native return value and errno become a managed outcome.
/// Callers loop <c>do { r = LibC.call(...); } while (SystemCall.Interrupted(r));</c> so EINTR never reaches
/// managed logic, then hand the result to <see cref="ThrowIfFailed"/> or <see cref="ErrnoOf"/>.
/// </summary>
internal static class SystemCall
{
    /// <summary>errno of the last P/Invoke made with SetLastError.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>True when <paramref name="result"/> failed with EINTR and the call should simply be made again.</summary>
    public static bool Interrupted(long result) => result < 0 && LastErrno == Errno.EINTR;

    /// <summary>Throws for a negative result, with the errno captured by the P/Invoke; returns the result otherwise.</summary>
    public static long ThrowIfFailed(long result, string operation)
    {
        if (result < 0)
        {
            throw new SystemCallException(operation, LastErrno);
        }
        return result;
    }

    /// <summary>As above; the interpolated operation text is only formatted when <paramref name="result"/> failed.</summary>
    public static long ThrowIfFailed(long result, [InterpolatedStringHandlerArgument(nameof(result))] ref FailureMessage operation)
    {
        if (result < 0)
        {
            int errno = LastErrno;
            throw new SystemCallException(operation.ToStringAndClear(), errno);
        }
        return result;
    }

    /// <summary>The exception for an errno the caller already holds (poll's POLLNVAL, a run failure it has classified).</summary>
    public static SystemCallException Failure(int errno, string operation) => new(operation, errno);

    /// <summary>Throws <see cref="Failure"/>.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Throw(int errno, string operation) => throw Failure(errno, operation);

    /// <summary>
    /// For failures the caller examines (ENOENT from /dev/lguest, EAGAIN from a non-blocking fd):
    /// 0 when <paramref name="result"/> succeeded, its errno otherwise.
    /// </summary>
    public static int ErrnoOf(long result) => result < 0 ? LastErrno : 0;
}
