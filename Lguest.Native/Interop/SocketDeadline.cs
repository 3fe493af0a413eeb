using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// A bound on how long a blocking send may wait for the peer to make room (SO_SNDTIMEO). A vhost-user front end that
/// stops reading its replies would otherwise hold the thread that answers it for ever; with a deadline the send fails
/// with EAGAIN and the connection is dropped.
/// </summary>
public static unsafe class SocketDeadline
{
    public static void SetSendTimeout(FileDescriptor socket, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        long microseconds = (long)timeout.TotalMicroseconds;
        var value = new TimeValue { Seconds = microseconds / 1_000_000, Microseconds = microseconds % 1_000_000 };
        using FileDescriptor.Lease fd = socket.Borrow();
        SystemCall.ThrowIfFailed(
            Linux.setsockopt(fd.Number, LibC.SOL_SOCKET, LibC.SO_SNDTIMEO, &value, sizeof(TimeValue)), $"SO_SNDTIMEO on socket fd {fd.Number}");
    }
}
