namespace Lguest.Native.VhostUser;

/// <summary>
/// What handling one message produced: a reply to send (the request's own answer, or a REPLY_ACK status), and, when the
/// request was refused but the front end asked for a REPLY_ACK, the refusal (the reply then carries a non-zero status
/// and the connection stays up). A refusal without a requested ack is thrown instead: the caller disconnects.
/// <paramref name="ReplyFd"/> travels with the reply (GET_INFLIGHT_FD's region); the caller owns it and closes it
/// once sent.
/// </summary>
public sealed record VhostUserOutcome(
    VhostUserRequest Request, VhostUserPayload? Reply, VhostUserProtocolException? Rejection, Interop.FileDescriptor? ReplyFd = null)
{
    public const ulong AckSuccess = 0;
    public const ulong AckFailure = 1;
}
