using Lguest.Native.Interop;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>What the listener and reader threads Tell their actors; the threads decide nothing.</summary>
internal static class VhostUserProtocolMessages
{
    /// <summary>A front end connected to the device's socket.</summary>
    public sealed record Accepted(FileDescriptor Socket);

    /// <summary>The listener itself failed (the socket file was removed, the fd table is full, a bug).</summary>
    public sealed record ListenerFailed(Exception Cause);

    /// <summary>The front end closed the connection, or reading from it failed; a guest error when it broke a rule.</summary>
    public sealed record Disconnected(string Reason, bool GuestError = false);

    /// <summary>The reader thread failed in a way it does not know how to classify; supervision decides.</summary>
    public sealed record ReaderFailed(Exception Cause);

    /// <summary>Sent to itself by a connection: the handshake deadline has passed.</summary>
    public sealed record HandshakeDeadline;
}
