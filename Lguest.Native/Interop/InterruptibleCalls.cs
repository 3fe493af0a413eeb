using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>A system call EINTR may cut short, with its arguments: what <see cref="SystemCall.Uninterrupted{TCall}"/> repeats.</summary>
internal interface IInterruptibleCall
{
    /// <summary>Makes the call once; negative on failure, with errno captured by the P/Invoke.</summary>
    long Invoke();
}

/// <summary>
/// The calls the project makes again after EINTR. Each is a struct holding only its arguments (raw pointers into
/// memory the caller has pinned), so <see cref="SystemCall.Uninterrupted{TCall}"/> specialises per call and allocates
/// nothing. Tmds.LibC's bindings where it has them; <see cref="LibC"/>'s own for what it lacks.
/// </summary>
internal static unsafe class Interruptible
{
    internal readonly struct Read(int fd, void* buffer, nuint count) : IInterruptibleCall
    {
        public long Invoke() => Linux.read(fd, buffer, (Tmds.Linux.size_t)(ulong)count);
    }

    internal readonly struct Write(int fd, void* buffer, nuint count) : IInterruptibleCall
    {
        public long Invoke() => Linux.write(fd, buffer, (Tmds.Linux.size_t)(ulong)count);
    }

    internal readonly struct PositionalRead(int fd, void* buffer, nuint count, long offset) : IInterruptibleCall
    {
        public long Invoke() => Linux.pread(fd, buffer, (Tmds.Linux.size_t)(ulong)count, offset);
    }

    internal readonly struct PositionalWrite(int fd, void* buffer, nuint count, long offset) : IInterruptibleCall
    {
        public long Invoke() => Linux.pwrite(fd, buffer, (Tmds.Linux.size_t)(ulong)count, offset);
    }

    internal readonly struct ReadVector(int fd, IoVector* vectors, int count) : IInterruptibleCall
    {
        public long Invoke() => LibC.readv(fd, vectors, count);
    }

    internal readonly struct WriteVector(int fd, IoVector* vectors, int count) : IInterruptibleCall
    {
        public long Invoke() => LibC.writev(fd, vectors, count);
    }

    internal readonly struct PositionalReadVector(int fd, IoVector* vectors, int count, long offset) : IInterruptibleCall
    {
        public long Invoke() => LibC.preadv(fd, vectors, count, offset);
    }

    internal readonly struct PositionalWriteVector(int fd, IoVector* vectors, int count, long offset) : IInterruptibleCall
    {
        public long Invoke() => LibC.pwritev(fd, vectors, count, offset);
    }

    internal readonly struct DataSync(int fd) : IInterruptibleCall
    {
        public long Invoke() => Linux.fdatasync(fd);
    }

    internal readonly struct Truncate(int fd, long length) : IInterruptibleCall
    {
        public long Invoke() => Linux.ftruncate(fd, length);
    }

    /// <summary>open; <paramref name="path"/> is a NUL-terminated UTF-8 string (<see cref="NativeString"/>).</summary>
    internal readonly struct Open(byte* path, int flags, int mode) : IInterruptibleCall
    {
        public long Invoke() => Linux.open(path, flags, (ushort)mode);
    }

    internal readonly struct DuplicateCloseOnExec(int fd) : IInterruptibleCall
    {
        public long Invoke() => Linux.fcntl(fd, LibC.F_DUPFD_CLOEXEC, 0);
    }

    internal readonly struct Control(int fd, nuint request, void* argument) : IInterruptibleCall
    {
        public long Invoke() => Linux.ioctl(fd, (int)request, argument);
    }

    internal readonly struct Accept(int fd, int flags) : IInterruptibleCall
    {
        public long Invoke() => Linux.accept4(fd, null, null, flags);
    }

    internal readonly struct Connect(int fd, UnixSocketAddress* address) : IInterruptibleCall
    {
        public long Invoke() => Linux.connect(fd, (Tmds.Linux.sockaddr*)address, sizeof(UnixSocketAddress));
    }

    internal readonly struct SendMessage(int fd, MessageHeader* message, int flags) : IInterruptibleCall
    {
        public long Invoke() => Linux.sendmsg(fd, (Tmds.Linux.msghdr*)message, flags);
    }

    /// <summary>recvmsg; the header is set from <paramref name="request"/> before every try, as the kernel writes back into it.</summary>
    internal readonly struct ReceiveMessage(int fd, MessageHeader* message, MessageHeader request, int flags) : IInterruptibleCall
    {
        public long Invoke()
        {
            *message = request;
            return Linux.recvmsg(fd, (Tmds.Linux.msghdr*)message, flags);
        }
    }

    internal readonly struct GetTerminalAttributes(int fd, TerminalAttributes* attributes) : IInterruptibleCall
    {
        public long Invoke() => Linux.tcgetattr(fd, (Tmds.Linux.termios*)attributes);
    }

    internal readonly struct SetTerminalAttributes(int fd, int when, TerminalAttributes* attributes) : IInterruptibleCall
    {
        public long Invoke() => Linux.tcsetattr(fd, when, (Tmds.Linux.termios*)attributes);
    }

    /// <summary>epoll_wait; a timeout of -1 waits for ever, 0 not at all, so there is nothing left to recompute.</summary>
    internal readonly struct EPollWait(int epfd, Tmds.Linux.epoll_event* events, int max, int timeout) : IInterruptibleCall
    {
        public long Invoke() => Linux.epoll_wait(epfd, events, max, timeout);
    }

    /// <summary>poll with whatever is left until <paramref name="deadline"/> (TickCount64), or for ever when <paramref name="forever"/>.</summary>
    internal readonly struct PollUntil(PollFd* fds, int count, bool forever, long deadline) : IInterruptibleCall
    {
        public long Invoke()
        {
            int wait = forever ? -1 : (int)Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
            return LibC.poll(fds, (nuint)count, wait);
        }
    }
}
