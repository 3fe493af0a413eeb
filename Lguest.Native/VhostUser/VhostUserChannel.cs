using Lguest.Native.Interop;

namespace Lguest.Native.VhostUser;

/// <summary>
/// One vhost-user connection's socket: reads whole messages out of the byte stream (a header may arrive in pieces;
/// descriptors must arrive with a message's first byte) and writes requests and replies. Both sides use it: a back end
/// reads requests and sends replies; a front end (tests, a load generator) sends requests and reads replies.
/// Owns the socket. Not thread-safe: one reader and one writer at a time, as the protocol is strictly request/reply.
/// </summary>
public sealed class VhostUserChannel : IDisposable
{
    public VhostUserChannel(FileDescriptor socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Socket = socket;
    }

    public FileDescriptor Socket { get; }

    /// <summary>
    /// How long the rest of a message may take once its first byte has arrived; infinite by default. A back end sets
    /// it so that a front end which starts a message and stops (six bytes of a header) cannot hold the device.
    /// Waiting between messages is not bounded by it: an idle front end is a normal one.
    /// </summary>
    public TimeSpan MessageDeadline { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Bounds each send: a peer that does not read what we send for this long makes the send fail.</summary>
    public void SetSendDeadline(TimeSpan deadline) => SocketDeadline.SetSendTimeout(Socket, deadline);

    /// <summary>The next request, or null when the front end closed the connection between messages.</summary>
    public VhostUserMessage? ReceiveRequest() => Receive(isReply: false);

    /// <summary>The reply to <paramref name="request"/>; a closed connection or a reply to anything else is a violation.</summary>
    public VhostUserMessage ReceiveReply(VhostUserRequest request)
    {
        VhostUserMessage reply = Receive(isReply: true)
            ?? throw new VhostUserProtocolException(VhostUserViolation.TruncatedMessage, $"connection closed while waiting for the reply to {request}");
        if (reply.Request != request)
        {
            reply.Dispose();
            throw new VhostUserProtocolException(VhostUserViolation.UnexpectedReply, $"waiting for the reply to {request}, got a reply to {reply.Request}");
        }
        return reply;
    }

    public void SendRequest(VhostUserRequest request, VhostUserPayload payload, ReadOnlySpan<FileDescriptor> fds = default, bool needReply = false)
        => UnixSocket.Send(Socket, VhostUserCodec.EncodeRequest(request, payload, needReply), fds);

    public void SendReply(VhostUserRequest request, VhostUserPayload payload, ReadOnlySpan<FileDescriptor> fds = default)
        => UnixSocket.Send(Socket, VhostUserCodec.EncodeReply(request, payload), fds);

    public void Dispose() => Socket.Dispose();

    private VhostUserMessage? Receive(bool isReply)
    {
        var fds = new List<FileDescriptor>();
        var deadline = new MessageClock(MessageDeadline);
        try
        {
            Span<byte> headerBytes = stackalloc byte[VhostUserHeader.Length];
            if (!Fill(headerBytes, fds, atMessageStart: true, deadline))
            {
                return null;
            }
            var header = VhostUserHeader.Parse(headerBytes);
            // Validated before the payload is read, so a hostile size never becomes an allocation.
            header.Validate(isReply);
            byte[] payload = new byte[header.Size];
            if (payload.Length > 0 && !Fill(payload, fds, atMessageStart: false, deadline))
            {
                throw new VhostUserProtocolException(VhostUserViolation.TruncatedMessage, $"connection closed inside a {(VhostUserRequest)header.Request} payload");
            }
            List<FileDescriptor> owned = fds;
            fds = [];
            return VhostUserCodec.Decode(header, payload, owned, isReply);
        }
        finally
        {
            foreach (FileDescriptor fd in fds)
            {
                fd.Dispose();
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> from the stream. False when the peer closed before the first byte of a message;
    /// a close after that, or descriptors arriving after a message's first byte, is a violation.
    /// </summary>
    private bool Fill(Span<byte> buffer, List<FileDescriptor> fds, bool atMessageStart, MessageClock deadline)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            if (!(atMessageStart && filled == 0) && !Poll.WaitReadable(Socket, deadline.Remaining))
            {
                throw new VhostUserProtocolException(
                    VhostUserViolation.DeadlineExpired, $"a message was started and its remaining bytes did not arrive within {MessageDeadline.TotalSeconds:0.#} s");
            }
            int before = fds.Count;
            int read = UnixSocket.Receive(Socket, buffer[filled..], fds, VhostUserCodec.MaxFds, out bool truncated);
            if (truncated)
            {
                throw new VhostUserProtocolException(VhostUserViolation.FdCountMismatch, $"more than {VhostUserCodec.MaxFds} descriptors came with one message");
            }
            if (fds.Count > before && !(atMessageStart && filled == 0))
            {
                throw new VhostUserProtocolException(VhostUserViolation.FdCountMismatch, "descriptors arrived after the first byte of their message");
            }
            if (read == 0)
            {
                if (atMessageStart && filled == 0)
                {
                    return false;
                }
                throw new VhostUserProtocolException(VhostUserViolation.TruncatedMessage, $"connection closed after {filled} of {buffer.Length} bytes");
            }
            filled += read;
            deadline.Start();
        }
        return true;
    }

    /// <summary>The deadline of one message, running from its first byte.</summary>
    private sealed class MessageClock(TimeSpan allowed)
    {
        private long _started = -1;

        public TimeSpan Remaining => allowed == Timeout.InfiniteTimeSpan || _started < 0
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromTicks(Math.Max(0, (allowed - System.Diagnostics.Stopwatch.GetElapsedTime(_started)).Ticks));

        public void Start()
        {
            if (_started < 0)
            {
                _started = System.Diagnostics.Stopwatch.GetTimestamp();
            }
        }
    }
}
