namespace Lguest.Native.VhostUser;

/// <summary>
/// A vhost-user message broke a protocol rule. Nothing it carried was kept: every descriptor that came with it has been
/// closed and the session's state is as it was before the message.
/// </summary>
public sealed class VhostUserProtocolException : Exception
{
    public VhostUserProtocolException(VhostUserViolation violation, string message)
        : base($"vhost-user violation {violation}: {message}")
    {
        Violation = violation;
    }

    public VhostUserViolation Violation { get; }
}
