using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>
/// The one place where a native return value and errno become a managed outcome.
/// Calls a signal may cut short go through <see cref="Uninterrupted{TCall}"/>, so EINTR never reaches managed
/// logic; the result then goes to <see cref="ThrowIfFailed(long, string)"/> or <see cref="ErrnoOf"/>.
/// </summary>
internal static class SystemCall
{
    /// <summary>errno of the last P/Invoke made with SetLastError.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>True when <paramref name="result"/> failed with EINTR and the call should simply be made again.</summary>
    private static bool Interrupted(long result) => result < 0 && LastErrno == Errno.EINTR;

    /// <summary>
    /// A signal landing mid-call (the run loop's wake signal, a debugger, SIGWINCH) must not look like a failure, so
    /// the call is made again until it finishes; the raw result is returned with errno still set from the last try.
    /// The call is a struct and the method is constrained to it, so the JIT compiles one copy per call type with
    /// <see cref="IInterruptibleCall.Invoke"/> inlined: no delegate, no boxing, nothing allocated per call.
    /// </summary>
    public static long Uninterrupted<TCall>(TCall call)
        where TCall : struct, IInterruptibleCall
    {
        long r;
        do
        {
            r = call.Invoke();
        }
        while (Interrupted(r));
        return r;
    }

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
