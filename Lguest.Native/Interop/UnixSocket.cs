using System.Text;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// AF_UNIX stream sockets that carry file descriptors, as vhost-user needs: a back end listens on a path, a front end
/// (QEMU, or a test) connects, and descriptors travel as SCM_RIGHTS attached to the first byte of the message they
/// belong to. A stream has no message boundaries, so <see cref="Receive"/> returns whatever arrived and callers loop.
/// </summary>
public static unsafe class UnixSocket
{
    /// <summary>The most descriptors one SCM_RIGHTS message may carry on Linux (SCM_MAX_FD).</summary>
    public const int MaxDescriptorsPerMessage = 253;

    /// <summary>
    /// Binds a close-on-exec listening socket to <paramref name="path"/>. A socket file left behind by an earlier
    /// run is removed first; any other kind of file there is an error, so a typo never deletes someone's data.
    /// The socket is bound under a private name beside the path and renamed into place once it listens: bind()
    /// creates the file before listen(), and a front end (QEMU, a script) that connects as soon as the file appears
    /// would otherwise be refused in between.
    /// </summary>
    public static FileDescriptor Listen(string path, int backlog = 1)
    {
        ArgumentNullException.ThrowIfNull(path);
        AddressOf(path);
        RemoveStaleSocket(path);
        string binding = BindingName(path);
        UnixSocketAddress address = AddressOf(binding);
        FileDescriptor socket = Create();
        try
        {
            using FileDescriptor.Lease fd = socket.Borrow();
            SystemCall.ThrowIfFailed(Linux.bind(fd.Number, (Tmds.Linux.sockaddr*)&address, sizeof(UnixSocketAddress)), $"bind unix socket {path}");
            SystemCall.ThrowIfFailed(Linux.listen(fd.Number, backlog), $"listen on unix socket {path}");
            if (binding != path)
            {
                File.Move(binding, path, overwrite: true); // rename(2): atomic, the socket keeps listening
            }
        }
        catch
        {
            socket.Dispose();
            if (binding != path)
            {
                File.Delete(binding);
            }
            throw;
        }
        return socket;
    }

    /// <summary>
    /// A name in the same directory (rename() does not cross file systems) that no other listener uses; the path
    /// itself when the longer name would not fit in sun_path, in which case the short window stays.
    /// </summary>
    private static string BindingName(string path)
    {
        string directory = Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";
        string candidate = Path.Combine(directory, $".{Environment.ProcessId:x}.{Random.Shared.Next():x8}.binding");
        return Encoding.UTF8.GetByteCount(candidate) < UnixSocketAddress.PathCapacity ? candidate : path;
    }

    /// <summary>Waits for the next connection and returns it, close-on-exec.</summary>
    public static FileDescriptor Accept(FileDescriptor listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        using FileDescriptor.Lease fd = listener.Borrow();
        long r = SystemCall.Uninterrupted(new Interruptible.Accept(fd.Number, LibC.SOCK_CLOEXEC));
        SystemCall.ThrowIfFailed(r, $"accept on unix socket fd {fd.Number}");
        return FileDescriptor.Adopt((int)r);
    }

    /// <summary>Connects to a listening socket at <paramref name="path"/>, as a front end does.</summary>
    public static FileDescriptor Connect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        UnixSocketAddress address = AddressOf(path);
        FileDescriptor socket = Create();
        try
        {
            using FileDescriptor.Lease fd = socket.Borrow();
            long r = SystemCall.Uninterrupted(new Interruptible.Connect(fd.Number, &address));
            SystemCall.ThrowIfFailed(r, $"connect to unix socket {path}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return socket;
    }

    /// <summary>A connected pair of close-on-exec stream sockets: both ends of a vhost-user connection in one process.</summary>
    public static (FileDescriptor First, FileDescriptor Second) CreatePair()
    {
        int* fds = stackalloc int[2];
        SystemCall.ThrowIfFailed(Linux.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds), "socketpair (stream)");
        return (FileDescriptor.Adopt(fds[0]), FileDescriptor.Adopt(fds[1]));
    }

    /// <summary>
    /// Sends all of <paramref name="data"/>, with <paramref name="descriptors"/> attached to its first byte.
    /// A short write sends the rest without them, so the receiver sees them exactly once, with the message's start.
    /// </summary>
    public static void Send(FileDescriptor socket, ReadOnlySpan<byte> data, ReadOnlySpan<FileDescriptor> descriptors = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (descriptors.Length > MaxDescriptorsPerMessage)
        {
            throw new ArgumentOutOfRangeException(nameof(descriptors), descriptors.Length, $"at most {MaxDescriptorsPerMessage} descriptors travel with one message");
        }
        if (data.IsEmpty)
        {
            throw new ArgumentException("descriptors need at least one byte of data to travel with", nameof(data));
        }

        // Each descriptor is leased for the whole send, so none can be closed and reused under the kernel's copy.
        var leased = new List<FileDescriptor>(descriptors.Length);
        try
        {
            foreach (FileDescriptor d in descriptors)
            {
                bool added = false;
                d.DangerousAddRef(ref added);
                leased.Add(d);
            }

            int controlLength = descriptors.IsEmpty ? 0 : LibC.CMSG_SPACE(descriptors.Length * sizeof(int));
            byte* control = stackalloc byte[Math.Max(controlLength, 1)];
            new Span<byte>(control, Math.Max(controlLength, 1)).Clear();
            if (controlLength > 0)
            {
                *(nuint*)control = (nuint)LibC.CMSG_LEN(descriptors.Length * sizeof(int));
                *(int*)(control + 8) = LibC.SOL_SOCKET;
                *(int*)(control + 12) = LibC.SCM_RIGHTS;
                int* numbers = (int*)(control + LibC.CMSG_HDR);
                for (int i = 0; i < descriptors.Length; i++)
                {
                    numbers[i] = (int)descriptors[i].DangerousGetHandle();
                }
            }

            using FileDescriptor.Lease fd = socket.Borrow();
            fixed (byte* bytes = data)
            {
                int sent = 0;
                while (sent < data.Length)
                {
                    var vector = new IoVector((nint)(bytes + sent), (nuint)(data.Length - sent));
                    MessageHeader message = default;
                    message.Vectors = &vector;
                    message.VectorCount = 1;
                    if (sent == 0 && controlLength > 0)
                    {
                        message.Control = control;
                        message.ControlLength = (nuint)controlLength;
                    }
                    long r = SystemCall.Uninterrupted(new Interruptible.SendMessage(fd.Number, &message, LibC.MSG_NOSIGNAL));
                    SystemCall.ThrowIfFailed(r, $"sendmsg {data.Length - sent} bytes and {(sent == 0 ? descriptors.Length : 0)} fds on unix socket fd {fd.Number}");
                    sent += (int)r;
                }
            }
        }
        finally
        {
            foreach (FileDescriptor d in leased)
            {
                d.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// One recvmsg: reads what has arrived into <paramref name="buffer"/> (0 means the peer closed the connection) and
    /// adopts every descriptor that came with it into <paramref name="descriptors"/>, close-on-exec.
    /// <paramref name="truncated"/> says more descriptors were sent than <paramref name="maxDescriptors"/>; the kernel
    /// has closed the ones that did not fit, and the caller must reject the message.
    /// </summary>
    public static int Receive(FileDescriptor socket, Span<byte> buffer, List<FileDescriptor> descriptors, int maxDescriptors, out bool truncated)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(descriptors);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDescriptors);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDescriptors, MaxDescriptorsPerMessage);
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("nothing to receive into", nameof(buffer));
        }

        int controlLength = LibC.CMSG_SPACE(Math.Max(maxDescriptors, 1) * sizeof(int));
        byte* control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        using FileDescriptor.Lease fd = socket.Borrow();
        long r;
        MessageHeader message;
        fixed (byte* bytes = buffer)
        {
            var vector = new IoVector((nint)bytes, (nuint)buffer.Length);
            MessageHeader request = default;
            request.Vectors = &vector;
            request.VectorCount = 1;
            request.Control = control;
            request.ControlLength = (nuint)controlLength;
            r = SystemCall.Uninterrupted(new Interruptible.ReceiveMessage(fd.Number, &message, request, LibC.MSG_CMSG_CLOEXEC));
        }
        SystemCall.ThrowIfFailed(r, $"recvmsg on unix socket fd {fd.Number}");

        // Adopt everything first, so whatever the caller decides, every descriptor has an owner that closes it.
        int received = AdoptDescriptors(control, (int)message.ControlLength, descriptors);
        truncated = (message.Flags & LibC.MSG_CTRUNC) != 0 || received > maxDescriptors;
        return (int)r;
    }

    private static int AdoptDescriptors(byte* control, int length, List<FileDescriptor> descriptors)
    {
        int adopted = 0;
        int offset = 0;
        while (offset + LibC.CMSG_HDR <= length)
        {
            byte* header = control + offset;
            int messageLength = (int)*(nuint*)header;
            if (messageLength < LibC.CMSG_HDR || offset + messageLength > length)
            {
                break;
            }
            if (*(int*)(header + 8) == LibC.SOL_SOCKET && *(int*)(header + 12) == LibC.SCM_RIGHTS)
            {
                int count = (messageLength - LibC.CMSG_HDR) / sizeof(int);
                int* numbers = (int*)(header + LibC.CMSG_HDR);
                for (int i = 0; i < count; i++)
                {
                    descriptors.Add(FileDescriptor.Adopt(numbers[i]));
                    adopted++;
                }
            }
            offset += (messageLength + 7) & ~7;
        }
        return adopted;
    }

    private static FileDescriptor Create()
    {
        int fd = (int)SystemCall.ThrowIfFailed(Linux.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0), "socket (unix stream)");
        return FileDescriptor.Adopt(fd);
    }

    private static UnixSocketAddress AddressOf(string path)
    {
        int length = Encoding.UTF8.GetByteCount(path);
        if (length == 0 || length >= UnixSocketAddress.PathCapacity || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"unix socket path '{path}' must be 1 to {UnixSocketAddress.PathCapacity - 1} bytes without NUL", nameof(path));
        }
        UnixSocketAddress address = default;
        address.Family = LibC.AF_UNIX;
        Encoding.UTF8.GetBytes(path, new Span<byte>(address.Path, UnixSocketAddress.PathCapacity));
        return address;
    }

    /// <summary>
    /// Whether <paramref name="path"/> (symbolic links followed, as connect follows them) is a socket, so a launcher
    /// can name a wrong path in its configuration before a front end fails to connect to it.
    /// </summary>
    public static bool IsSocket(string path)
    {
        FileStatusBuffer status;
        fixed (byte* p = NativeString.Utf8(path))
        {
            if (Linux.stat(p, (Tmds.Linux.stat*)&status) != 0)
            {
                return false;
            }
        }
        return (status.Mode & LibC.S_IFMT) == LibC.S_IFSOCK;
    }

    private static void RemoveStaleSocket(string path)
    {
        FileStatusBuffer status;
        byte[] name = NativeString.Utf8(path);
        int found;
        fixed (byte* p = name)
        {
            found = Linux.lstat(p, (Tmds.Linux.stat*)&status);
        }
        if (found != 0)
        {
            int errno = SystemCall.LastErrno;
            if (errno == Errno.ENOENT)
            {
                return;
            }
            SystemCall.Throw(errno, $"stat unix socket path {path}");
        }
        if ((status.Mode & LibC.S_IFMT) != LibC.S_IFSOCK)
        {
            throw new IOException($"cannot listen on {path}: it exists and is not a socket");
        }
        fixed (byte* p = name)
        {
            SystemCall.ThrowIfFailed(Linux.unlink(p), $"remove stale unix socket {path}");
        }
    }

    /// <summary>
    /// shutdown(SHUT_RDWR): wakes a thread blocked in accept or recvmsg on this socket (they return at once), so a
    /// listener or reader can be stopped without closing the descriptor under it. A socket that is already
    /// disconnected is not an error.
    /// </summary>
    public static void Shutdown(FileDescriptor socket)
    {
        using FileDescriptor.Lease fd = socket.Borrow();
        int r = Linux.shutdown(fd.Number, Linux.SHUT_RDWR);
        if (r < 0 && SystemCall.LastErrno != Errno.ENOTCONN)
        {
            SystemCall.ThrowIfFailed(r, $"shutdown socket fd {fd.Number}");
        }
    }
}
