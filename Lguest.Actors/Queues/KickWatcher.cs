using Akka.Actor;
using Lguest.Native.Interop;

namespace Lguest.Actors.Queues;

/// <summary>
/// The thread pinned to a queue's eventfd. The seed's service threads slept in read(eventfd) and did the device
/// work themselves; here the thread only waits, on the kick eventfd, a wake eventfd for stop and re-arm, and
/// optionally the device's host source, and Tells the queue actor what happened. All decisions stay in the actor,
/// so a stop is one write to the wake eventfd and takes effect at once, even on an idle queue.
/// </summary>
internal sealed class KickWatcher : IDisposable
{
    private readonly EventFd _kick;
    private readonly FileDescriptor? _source;
    private readonly IActorRef _queue;
    private readonly EventFd _wake = EventFd.Create(nonBlocking: true);
    private readonly Thread _thread;
    private volatile bool _watchSource;
    private volatile bool _stopping;

    public KickWatcher(string name, EventFd kick, FileDescriptor? source, IActorRef queue)
    {
        _kick = kick;
        _source = source;
        _queue = queue;
        _thread = new Thread(Watch) { IsBackground = true, Name = $"kick {name}" };
        _thread.Start();
    }

    /// <summary>
    /// Whether source readability should wake the queue. Off while the ring has no buffers to fill: a readable tap
    /// with nowhere to put the frame would otherwise wake us in a loop.
    /// </summary>
    public void WatchSource(bool watch)
    {
        if (_source is null || _watchSource == watch)
        {
            return;
        }
        _watchSource = watch;
        _wake.Signal();
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Signal();
        _thread.Join();
        _wake.Dispose();
    }

    private void Watch()
    {
        FileDescriptor[] withSource = _source is null ? [] : [_kick.Descriptor, _wake.Descriptor, _source];
        FileDescriptor[] withoutSource = [_kick.Descriptor, _wake.Descriptor];
        Span<bool> ready = stackalloc bool[3];
        while (!_stopping)
        {
            FileDescriptor[] fds = _watchSource ? withSource : withoutSource;
            ready.Clear();
            Poll.WaitReadable(fds, ready, Timeout.InfiniteTimeSpan);
            if (_stopping)
            {
                return;
            }
            if (ready[1])
            {
                _wake.Drain();
            }
            if (ready[0])
            {
                _kick.Drain();
                _queue.Tell(QueueProtocol.Kicked.Instance);
            }
            if (fds.Length == 3 && ready[2])
            {
                _watchSource = false; // re-armed by the actor once it has drained the source
                _queue.Tell(QueueProtocol.SourceReady.Instance);
            }
        }
    }
}
