using Lguest.Native.Interop;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// One descriptor an actor asked its <see cref="EventLoop"/> to watch, and the message the loop Tells the actor, on
/// the actor's own thread, when the descriptor becomes readable. Created and changed only on that thread.
/// </summary>
internal sealed class FdWatch
{
    internal FdWatch(FileDescriptor descriptor, object message, EventFd? drainedEventFd, bool oneShot, bool armed)
    {
        Descriptor = descriptor;
        Message = message;
        DrainedEventFd = drainedEventFd;
        OneShot = oneShot;
        Armed = armed;
    }

    public FileDescriptor Descriptor { get; }

    public object Message { get; }

    /// <summary>An eventfd the loop reads (clears) itself before telling, so a level-triggered kick fires once.</summary>
    public EventFd? DrainedEventFd { get; }

    /// <summary>Disarmed when it fires, until the actor re-arms it (a readable tap with nowhere to put a frame must not spin).</summary>
    public bool OneShot { get; }

    public bool Armed { get; internal set; }
}
