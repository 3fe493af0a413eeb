using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// A connected pair of AF_UNIX sockets. A datagram pair keeps message boundaries, so one end stands in for a tap
/// (one read, one frame) wherever creating a real interface needs privileges we may not have.
/// </summary>
internal static unsafe class SocketPair
{
    public static (FileDescriptor First, FileDescriptor Second) CreateDatagram(bool nonBlocking)
    {
        int* fds = stackalloc int[2];
        int type = LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC | (nonBlocking ? LibC.SOCK_NONBLOCK : 0);
        SystemCall.ThrowIfFailed(Linux.socketpair(LibC.AF_UNIX, type, 0, fds), "socketpair");
        return (FileDescriptor.Adopt(fds[0]), FileDescriptor.Adopt(fds[1]));
    }
}
