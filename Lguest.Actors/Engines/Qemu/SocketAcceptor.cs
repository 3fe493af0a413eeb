using Lguest.Native.Interop;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// Blocking waits that a stop signal can interrupt: the QMP and console threads wait on QEMU's sockets, and a
/// launcher that stops (or a QEMU that never connects) must not leave them blocked for ever.
/// </summary>
internal static class SocketAcceptor
{
    /// <summary>The next connection on <paramref name="listener"/>, or null once <paramref name="stop"/> is signalled.</summary>
    public static FileDescriptor? AcceptOrStop(FileDescriptor listener, EventFd stop)
    {
        Span<bool> ready = stackalloc bool[2];
        Poll.WaitReadable([stop.Descriptor, listener], ready, Timeout.InfiniteTimeSpan);
        return ready[0] ? null : UnixSocket.Accept(listener);
    }

    /// <summary>Waits until <paramref name="source"/> is readable; false once <paramref name="stop"/> is signalled.</summary>
    public static bool WaitReadableOrStop(FileDescriptor source, EventFd stop)
    {
        Span<bool> ready = stackalloc bool[2];
        Poll.WaitReadable([stop.Descriptor, source], ready, Timeout.InfiniteTimeSpan);
        return !ready[0];
    }

    /// <summary>Writes all of <paramref name="data"/>, however many writes it takes.</summary>
    public static void WriteAll(FileDescriptor target, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int written = FileIo.Write(target, data);
            data = data[written..];
        }
    }
}
