using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// A dispatcher that gives its one actor an <see cref="EventLoop"/> thread of its own: the thread runs the mailbox
/// and, between runs, sleeps in epoll_wait on the descriptors the actor registered (<see cref="LoopOf"/>). It replaces
/// Akka's PinnedDispatcher for queue actors, whose executor spins in sched_yield waiting for the next message and
/// needed a second thread to wait on the kick. The thread ends as soon as the actor detaches, so a stopped queue
/// leaves neither a thread nor a descriptor behind.
/// </summary>
internal sealed class EventFdDispatcher : MessageDispatcher
{
    private readonly EventLoop _loop;
    private ActorCell? _owner;

    public EventFdDispatcher(MessageDispatcherConfigurator configurator, string id, int throughput, TimeSpan shutdownTimeout)
        : base(configurator)
    {
        Id = id;
        Throughput = throughput;
        ShutdownTimeout = shutdownTimeout;
        _loop = new EventLoop($"eventfd {id}", e => EventStream.Publish(new Error(e, id, typeof(EventFdDispatcher), e.Message)));
    }

    /// <summary>
    /// The loop an actor runs on, for registering its descriptors. Throws when the actor was given another
    /// dispatcher: its kicks would never be watched.
    /// </summary>
    public static EventLoop LoopOf(IActorContext context)
        => context.Dispatcher is EventFdDispatcher dispatcher
            ? dispatcher._loop
            : throw new InvalidOperationException($"{context.Self.Path} must run on an {nameof(EventFdDispatcher)} (its dispatcher is {context.Dispatcher.Id})");

    public override void Attach(ActorCell cell)
    {
        ActorCell? previous = Interlocked.CompareExchange(ref _owner, cell, null);
        if (previous is not null && previous != cell)
        {
            throw new InvalidOperationException($"{Id} serves {previous.Self.Path} only; {cell.Self.Path} cannot share its thread");
        }
        if (previous is null)
        {
            _loop.Owner = cell.Self;
            _loop.Start();
        }
        base.Attach(cell);
    }

    public override void Detach(ActorCell cell)
    {
        try
        {
            base.Detach(cell);
        }
        finally
        {
            _loop.Stop();
        }
    }

    protected override void ExecuteTask(IRunnable run) => _loop.Execute(run);

    /// <summary>Akka calls this a while after the last actor detached; the loop has ended by then.</summary>
    protected override void Shutdown() => _loop.Stop();
}
