namespace Lguest.Native.Lguest;

/// <summary>
/// The system calls the launcher makes on /dev/lguest, and the signal it sends its own run-loop thread. The real host
/// is <see cref="HostLguestSyscalls"/>; a model of the host kernel implements the same calls, so the launcher's own
/// channel code runs unchanged against it. Results are kernel-style: a count, or a negative errno.
/// </summary>
public interface ILguestSyscalls
{
    /// <summary>open(path, O_RDWR): a file descriptor, or -errno.</summary>
    int Open(string path);

    /// <summary>
    /// pread(2): bytes read, or -errno. EINTR is returned, never retried here: it is how a signal gets a thread out
    /// of a running guest.
    /// </summary>
    long PRead(int fd, Span<byte> buffer, long offset);

    /// <summary>
    /// write(2), as the seed wrote its requests: the driver's return value (not necessarily a byte count), or -errno.
    /// The kernel takes the CPU number from the file position, which reads never move, so it is 0.
    /// </summary>
    long Write(int fd, ReadOnlySpan<byte> buffer);

    /// <summary>close(2): 0 or -errno.</summary>
    int Close(int fd);

    /// <summary>The calling thread: what the kernel calls <c>current</c>, the task LHREQ_INITIALIZE binds a guest to.</summary>
    LguestTask CurrentTask();

    /// <summary>
    /// Sends <paramref name="task"/> the wake signal. If it is inside a read of /dev/lguest, that read returns EINTR;
    /// if it is not, the signal is spent in user space and nothing else happens (so callers repeat it until the
    /// thread has left).
    /// </summary>
    void SignalTask(LguestTask task);
}

/// <summary>A thread as the host kernel identifies it (a pthread_t for the real host).</summary>
public readonly record struct LguestTask(nuint Id);
