using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using Akka.Actor;
using Akka.Dispatch;
using Lguest.Native.Interop;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// The one thread behind an <see cref="EventFdDispatcher"/>: it runs its actor's mailbox, and between runs sleeps in
/// epoll_wait on a wake eventfd and on the descriptors the actor registered. This is the seed's service thread again (it
/// slept in read(eventfd) and did the device work itself), with Akka's mailbox in the middle: a kick that wakes the
/// thread becomes a Tell on this same thread and is served before the thread sleeps again, so the request path has
/// no second thread, no hop, and no spin.
/// </summary>
internal sealed class EventLoop
{
    private const int ReadyRoom = 16;
    private const int LooksPerClockRead = 8;

    private readonly EventFd _wake = EventFd.Create(nonBlocking: true);
    private readonly ConcurrentQueue<IRunnable> _fromOtherThreads = new();
    private readonly Queue<IRunnable> _fromThisThread = new();
    private readonly WatchSet _watches;
    private readonly Action<Exception> _reportFailure;
    private readonly Thread _thread;
    private readonly Lock _wakeLock = new();
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
        _watches = new WatchSet(name, _wake, Tell, reportFailure);
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
                // Never attached, so no thread will close them.
                CloseDescriptors();
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

    /// <summary>
    /// Watches an eventfd (a queue's kick): the loop tells <paramref name="message"/> each time it is written. It is
    /// edge-triggered and never read: each write is an edge of its own, so there is no read per kick to reset it.
    /// </summary>
    public FdWatch WatchEventFd(EventFd eventFd, object message)
    {
        RequireLoopThread();
        return _watches.Add(eventFd.Descriptor, message, EPollTrigger.Edge, oneShot: false, armed: true);
    }

    /// <summary>
    /// Watches a host source (stdin, a tap): when armed and readable, the loop disarms it and tells
    /// <paramref name="message"/>; the actor re-arms it once it has somewhere to put more data.
    /// </summary>
    public FdWatch WatchReadable(FileDescriptor descriptor, object message, bool armed)
    {
        RequireLoopThread();
        return _watches.Add(descriptor, message, EPollTrigger.Level, oneShot: true, armed);
    }

    /// <summary>Arming and disarming cost no system call (see <see cref="WatchSet.Arm"/>).</summary>
    public void Arm(FdWatch watch, bool armed)
    {
        RequireLoopThread();
        _watches.Arm(watch, armed);
    }

    /// <summary>Stops watching: the actor calls this before it closes the descriptor.</summary>
    public void Unwatch(FdWatch watch)
    {
        RequireLoopThread();
        _watches.Remove(watch);
    }

    /// <summary>Polls <paramref name="poller"/> before each sleep while it is armed (adaptive polling); null: never.</summary>
    public void SetIdlePoller(IdlePoller? poller)
    {
        RequireLoopThread();
        _idlePoller = poller;
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
        Span<EPollReady> ready = stackalloc EPollReady[ReadyRoom];
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
                Sleep(ready);
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
                CloseDescriptors();
            }
        }
    }

    private void CloseDescriptors()
    {
        _wakeClosed = true;
        _watches.Dispose();
        _wake.Dispose();
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
            // Several looks per clock read: the look is one load of avail.idx, the clock costs more than that.
            for (int look = 0; look < LooksPerClockRead; look++)
            {
                if (poller.HasWork())
                {
                    poller.Found();
                    _owner.Tell(poller.WorkMessage, ActorRefs.NoSender);
                    return true;
                }
                Pause();
            }
            if (!_fromOtherThreads.IsEmpty || _stopping)
            {
                return true;
            }
        }
        while (Stopwatch.GetTimestamp() < deadline);
        poller.Expired();
        _owner.Tell(poller.ExpiredMessage, ActorRefs.NoSender);
        return true;
    }

    /// <summary>
    /// One pause instruction between looks: it eases the pipeline and the sibling hyperthread without the dozens of
    /// nanoseconds a Thread.SpinWait round adds to noticing the guest's next request.
    /// </summary>
    private static void Pause()
    {
        if (X86Base.IsSupported)
        {
            X86Base.Pause();
        }
        else
        {
            Thread.SpinWait(1);
        }
    }

    /// <summary>
    /// Why: the only place the thread blocks, in epoll_wait on the wake eventfd and every watch; a kick that ends the
    /// sleep is told to the actor, and tells the idle poller how long the queue was quiet.
    /// </summary>
    private void Sleep(Span<EPollReady> ready)
    {
        Interlocked.Exchange(ref _sleeping, 1);
        if (!_fromOtherThreads.IsEmpty || _stopping)
        {
            Volatile.Write(ref _sleeping, 0);
            return;
        }
        IdlePoller? poller = _idlePoller is { Enabled: true } enabled ? enabled : null;
        long asleep = poller is null ? 0 : Stopwatch.GetTimestamp();
        bool fired = _watches.Wait(ready);
        Volatile.Write(ref _sleeping, 0);
        if (fired)
        {
            poller?.Slept(Stopwatch.GetTimestamp() - asleep);
        }
    }

    private void Tell(FdWatch watch) => _owner.Tell(watch.Message, ActorRefs.NoSender);
}
