using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Dispatch;
using Lguest.Native.Interop;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// The one thread behind an <see cref="EventFdDispatcher"/>: it runs its actor's mailbox, and between runs sleeps in
/// poll() on a wake eventfd and on the descriptors the actor registered. This is the seed's service thread again (it
/// slept in read(eventfd) and did the device work itself), with Akka's mailbox in the middle: a kick that wakes the
/// thread becomes a Tell on this same thread and is served before the thread sleeps again, so the request path has
/// no second thread, no hop, and no spin.
/// </summary>
internal sealed class EventLoop
{
    private const int FirstWatch = 1;

    private readonly EventFd _wake = EventFd.Create(nonBlocking: true);
    private readonly ConcurrentQueue<IRunnable> _fromOtherThreads = new();
    private readonly Queue<IRunnable> _fromThisThread = new();
    private readonly List<FdWatch> _watches = [];
    private readonly Action<Exception> _reportFailure;
    private readonly Thread _thread;
    private readonly Lock _wakeLock = new();
    private FileDescriptor[] _polled = [];
    private FdWatch?[] _polledWatches = [];
    private int _polledCount;
    private bool _watchesChanged = true;
    private IdlePoller? _idlePoller;
    private IActorRef _owner = ActorRefs.Nobody;
    private int _sleeping;
    private bool _started;
    private bool _wakeClosed;
    private volatile bool _stopping;
    private volatile bool _ended;

    public EventLoop(string name, Action<Exception> reportFailure)
    {
        _reportFailure = reportFailure;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>Whether the caller is this loop's thread (where the actor, and so every watch change, runs).</summary>
    public bool IsCurrentThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>The actor the loop tells about ready descriptors; set when it attaches.</summary>
    public IActorRef Owner
    {
        set => _owner = value;
    }

    public void Start()
    {
        lock (_wakeLock)
        {
            _started = true;
        }
        _thread.Start();
    }

    /// <summary>
    /// Why: Akka schedules the mailbox through here. On the loop's own thread (a Tell from the actor to itself, or a
    /// kick the loop turned into a Tell) it is queued locally and run before the next poll; from any other thread it
    /// is handed over, and the wake eventfd is written only if the loop is asleep.
    /// </summary>
    public void Execute(IRunnable runnable)
    {
        if (IsCurrentThread)
        {
            _fromThisThread.Enqueue(runnable);
            return;
        }
        if (_ended)
        {
            // The actor has gone; whatever Akka still schedules here (a late shutdown task) runs on the pool.
            ThreadPool.UnsafeQueueUserWorkItem(static r => r.Run(), runnable, preferLocal: false);
            return;
        }
        _fromOtherThreads.Enqueue(runnable);
        // Pairs with the fence in Sleep: either the loop sees the runnable before it sleeps, or we see it sleeping.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            Wake();
        }
    }

    /// <summary>
    /// The actor detached: finish what is queued, then end the thread and close the wake eventfd. Idempotent, and
    /// safe from any thread at any time, since Akka's own delayed shutdown calls it again later.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        if (IsCurrentThread)
        {
            return;
        }
        lock (_wakeLock)
        {
            if (!_started && !_wakeClosed)
            {
                // Never attached, so no thread will close it.
                _wakeClosed = true;
                _wake.Dispose();
            }
        }
        Interlocked.Exchange(ref _sleeping, 0);
        Wake();
    }

    /// <summary>Writes the wake eventfd unless the loop has already closed it (a late Stop or Execute).</summary>
    private void Wake()
    {
        lock (_wakeLock)
        {
            if (!_wakeClosed)
            {
                _wake.Signal();
            }
        }
    }

    /// <summary>Watches an eventfd (a queue's kick): the loop clears it and tells <paramref name="message"/> each time it is signalled.</summary>
    public FdWatch WatchEventFd(EventFd eventFd, object message) => Add(new FdWatch(eventFd.Descriptor, message, eventFd, oneShot: false, armed: true));

    /// <summary>
    /// Watches a host source (stdin, a tap): when armed and readable, the loop disarms it and tells
    /// <paramref name="message"/>; the actor re-arms it once it has somewhere to put more data.
    /// </summary>
    public FdWatch WatchReadable(FileDescriptor descriptor, object message, bool armed) => Add(new FdWatch(descriptor, message, null, oneShot: true, armed));

    public void Arm(FdWatch watch, bool armed)
    {
        RequireLoopThread();
        if (watch.Armed != armed)
        {
            watch.Armed = armed;
            _watchesChanged = true;
        }
    }

    /// <summary>Stops watching: the actor calls this before it closes the descriptor.</summary>
    public void Unwatch(FdWatch watch)
    {
        RequireLoopThread();
        if (_watches.Remove(watch))
        {
            _watchesChanged = true;
        }
    }

    /// <summary>Polls <paramref name="poller"/> before each sleep while it is armed (adaptive polling); null: never.</summary>
    public void SetIdlePoller(IdlePoller? poller)
    {
        RequireLoopThread();
        _idlePoller = poller;
    }

    private FdWatch Add(FdWatch watch)
    {
        RequireLoopThread();
        _watches.Add(watch);
        _watchesChanged = true;
        return watch;
    }

    private void RequireLoopThread()
    {
        if (!IsCurrentThread)
        {
            throw new InvalidOperationException($"{_thread.Name}: descriptors are watched only from the actor on this loop");
        }
    }

    /// <summary>Why: the thread's whole life. Run what is queued, look for work without sleeping, then sleep in poll.</summary>
    private void Run()
    {
        Span<bool> ready = stackalloc bool[16];
        try
        {
            while (true)
            {
                RunQueued();
                if (_stopping)
                {
                    RunQueued();
                    return;
                }
                if (_idlePoller is { Armed: true } poller && PollIdle(poller))
                {
                    continue;
                }
                try
                {
                    Sleep(ready);
                }
                catch (Exception e) when (e is ObjectDisposedException or SystemCallException && DropClosedWatches())
                {
                    // An actor closed a descriptor it still watched: that watch goes, the actor keeps its thread.
                    _reportFailure(e);
                }
            }
        }
        catch (Exception e)
        {
            // Only a broken descriptor gets here (the mailbox catches the actor's own exceptions): the actor can no
            // longer be woken, so say so loudly rather than hang silently.
            _reportFailure(e);
        }
        finally
        {
            _ended = true;
            while (_fromOtherThreads.TryDequeue(out IRunnable? late))
            {
                ThreadPool.UnsafeQueueUserWorkItem(static r => r.Run(), late, preferLocal: false);
            }
            lock (_wakeLock)
            {
                _wakeClosed = true;
                _wake.Dispose();
            }
        }
    }

    /// <summary>Why: everything scheduled so far runs before the thread may sleep, in the order it was scheduled.</summary>
    private void RunQueued()
    {
        while (true)
        {
            if (_fromThisThread.TryDequeue(out IRunnable? local))
            {
                Run(local);
            }
            else if (_fromOtherThreads.TryDequeue(out IRunnable? remote))
            {
                Run(remote);
            }
            else
            {
                return;
            }
        }
    }

    private void Run(IRunnable runnable)
    {
        try
        {
            runnable.Run();
        }
        catch (Exception e)
        {
            _reportFailure(e);
        }
    }

    /// <summary>
    /// Why: a guest that kicks again within microseconds of being served is cheaper to catch by looking at its ring
    /// than by sleeping and being woken, as QEMU's iothreads do. Looks until the poller finds work, the window
    /// closes, or another thread schedules the mailbox. Returns whether the mailbox has something to run.
    /// </summary>
    private bool PollIdle(IdlePoller poller)
    {
        long deadline = Stopwatch.GetTimestamp() + poller.WindowTicks;
        do
        {
            if (poller.HasWork())
            {
                poller.Found();
                _owner.Tell(poller.WorkMessage, ActorRefs.NoSender);
                return true;
            }
            if (!_fromOtherThreads.IsEmpty || _stopping)
            {
                return true;
            }
            Thread.SpinWait(8);
        }
        while (Stopwatch.GetTimestamp() < deadline);
        poller.Expired();
        _owner.Tell(poller.ExpiredMessage, ActorRefs.NoSender);
        return true;
    }

    /// <summary>Why: the only place the thread blocks. poll() on the wake eventfd and every armed watch, then tell.</summary>
    private void Sleep(Span<bool> ready)
    {
        if (_watchesChanged)
        {
            RebuildPollSet();
        }
        Volatile.Write(ref _sleeping, 1);
        Interlocked.MemoryBarrier();
        if (!_fromOtherThreads.IsEmpty || _stopping)
        {
            Volatile.Write(ref _sleeping, 0);
            return;
        }
        Span<bool> flags = _polledCount <= ready.Length ? ready[.._polledCount] : new bool[_polledCount];
        flags.Clear();
        long asleep = Stopwatch.GetTimestamp();
        Poll.WaitReadable(_polled.AsSpan(0, _polledCount), flags, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _sleeping, 0);
        bool woken = false;
        if (flags[0])
        {
            _wake.Drain();
        }
        for (int i = FirstWatch; i < _polledCount; i++)
        {
            if (flags[i] && _polledWatches[i] is { } watch)
            {
                watch.DrainedEventFd?.Drain();
                if (watch.OneShot)
                {
                    watch.Armed = false;
                    _watchesChanged = true;
                }
                _owner.Tell(watch.Message, ActorRefs.NoSender);
                woken = true;
            }
        }
        if (woken)
        {
            _idlePoller?.Slept(Stopwatch.GetTimestamp() - asleep);
        }
    }

    /// <summary>Forgets watches whose descriptor was closed under the loop; false when there were none.</summary>
    private bool DropClosedWatches()
    {
        _watchesChanged = true;
        Volatile.Write(ref _sleeping, 0);
        return _watches.RemoveAll(w => w.Descriptor.IsClosed) > 0;
    }

    private void RebuildPollSet()
    {
        // Sized for every watch, so arming and disarming a source (as often as every frame) allocates nothing.
        if (_polled.Length < _watches.Count + FirstWatch)
        {
            _polled = new FileDescriptor[_watches.Count + FirstWatch];
            _polledWatches = new FdWatch?[_watches.Count + FirstWatch];
        }
        Array.Clear(_polledWatches);
        _polled[0] = _wake.Descriptor;
        int next = FirstWatch;
        foreach (FdWatch watch in _watches)
        {
            if (watch.Armed)
            {
                _polled[next] = watch.Descriptor;
                _polledWatches[next++] = watch;
            }
        }
        _polledCount = next;
        _watchesChanged = false;
    }
}
