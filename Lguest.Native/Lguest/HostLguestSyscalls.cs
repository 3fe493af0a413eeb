using System.Runtime.InteropServices;
using Lguest.Native.Interop;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Lguest;

/// <summary>
/// The real host's calls, through libc. The wake signal is SIGUSR2 with a handler installed WITHOUT SA_RESTART:
/// the lguest module answers a pending signal with -ERESTARTSYS, which the kernel turns into EINTR only when the
/// handler does not ask for restarts (.NET's own handlers do ask, so SIGINT/SIGTERM never reach a running guest's
/// read). The handler itself must do nothing and must not run managed code inside a signal; libc's getpid fits:
/// async-signal-safe, it ignores the signal number passed to it, and its return value is discarded.
/// </summary>
public sealed unsafe partial class HostLguestSyscalls : ILguestSyscalls
{
    private static readonly Lazy<bool> s_handlerInstalled = new(InstallWakeHandler);

    public static HostLguestSyscalls Instance { get; } = new();

    /// <summary>The signal <see cref="SignalTask"/> sends.</summary>
    public static int WakeSignal => Linux.SIGUSR2;

    public int Open(string path)
    {
        fixed (byte* name = NativeString.Utf8(path))
        {
            long fd = SystemCall.Uninterrupted(new Interruptible.Open(name, LibC.O_RDWR | LibC.O_CLOEXEC, 0));
            return fd < 0 ? -SystemCall.LastErrno : (int)fd;
        }
    }

    public long PRead(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            long r = Linux.pread(fd, p, (Tmds.Linux.size_t)(ulong)buffer.Length, offset);
            return r < 0 ? -SystemCall.LastErrno : r;
        }
    }

    public long Write(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            long r = Linux.write(fd, p, (Tmds.Linux.size_t)(ulong)buffer.Length);
            return r < 0 ? -SystemCall.LastErrno : r;
        }
    }

    public int Close(int fd) => Linux.close(fd) < 0 ? -SystemCall.LastErrno : 0;

    public LguestTask CurrentTask()
    {
        _ = s_handlerInstalled.Value; // before any thread can be signalled, so SIGUSR2 never kills the process
        return new LguestTask(pthread_self());
    }

    public void SignalTask(LguestTask task)
    {
        if (!s_handlerInstalled.Value)
        {
            return;
        }
        int error = Linux.pthread_kill(System.Runtime.CompilerServices.Unsafe.BitCast<nuint, Tmds.Linux.pthread_t>(task.Id), WakeSignal);
        // ESRCH: the thread is gone, so nothing is left to wake.
        if (error != 0 && error != Linux.ESRCH)
        {
            SystemCall.Throw(error, $"pthread_kill(run loop, {WakeSignal})");
        }
    }

    private static bool InstallWakeHandler()
    {
        nint getpid = NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "getpid");
        var action = default(Tmds.Linux.sigaction);
        action.sa_handler = (void*)getpid;
        action.sa_flags = 0; // no SA_RESTART: a blocked read of /dev/lguest must come back with EINTR
        if (Linux.sigaction(WakeSignal, &action, null) != 0)
        {
            SystemCall.Throw(Linux.errno, "sigaction(SIGUSR2)");
        }
        return true;
    }

    // Tmds.LibC 0.5.0 binds pthread_kill but not pthread_self.
    [LibraryImport("libc", EntryPoint = "pthread_self")]
    private static partial nuint pthread_self();
}
