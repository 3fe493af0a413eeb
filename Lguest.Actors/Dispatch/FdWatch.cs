using Lguest.Native.Interop;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// One descriptor an actor asked its <see cref="EventLoop"/> to watch, and the message the loop Tells the actor, on
/// the actor's own thread, when the descriptor becomes readable. Created and changed only on that thread.
/// </summary>
internal sealed class FdWatch
{
    internal FdWatch(FileDescriptor descriptor, object message, EPollTrigger trigger, bool oneShot, bool armed, ulong token)
    {
        Descriptor = descriptor;
        Message = message;
        Trigger = trigger;
        OneShot = oneShot;
        Armed = armed;
        Token = token;
    }

    public FileDescriptor Descriptor { get; }

    public object Message { get; }

    /// <summary>Edge: an eventfd, told once per write and never read. Level: a source the actor reads until it would block.</summary>
    public EPollTrigger Trigger { get; }

    /// <summary>Disarmed when it fires, until the actor re-arms it (a readable tap with nowhere to put a frame must not spin).</summary>
    public bool OneShot { get; }

    public bool Armed { get; internal set; }

    /// <summary>What the loop's epoll reports it by.</summary>
    internal ulong Token { get; }

    /// <summary>In the loop's epoll set. A disarmed level watch stays in until it fires while disarmed, so arming and disarming cost no system call.</summary>
    internal bool Registered { get; set; }

    /// <summary>An edge watch fired while disarmed: told as soon as it is armed again, since that edge will not come back.</summary>
    internal bool Pending { get; set; }

    /// <summary>epoll refused it (a regular file as console input): poll() would call it always readable, and so does the loop.</summary>
    internal bool AlwaysReady { get; set; }
}
