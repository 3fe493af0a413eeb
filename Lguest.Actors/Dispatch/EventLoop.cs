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
    private const ulong WakeToken = 0;
    private const int ReadyRoom = 16;
    private const int LooksPerClockRead = 8;

    private readonly EventFd _wake = EventFd.Create(nonBlocking: true);
    private readonly ConcurrentQueue<IRunnable> _fromOtherThreads = new();
    private readonly Queue<IRunnable> _fromThisThread = new();
    private readonly List<FdWatch> _watches = [];
    private readonly Action<Exception> _reportFailure;
    private readonly Thread _thread;
    private readonly Lock _wakeLock = new();
    private EPoll _epoll;
    private bool _epollStale;
    private ulong _nextToken = WakeToken + 1;
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
        _epoll = NewEPoll();
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
        => Add(new FdWatch(eventFd.Descriptor, message, EPollTrigger.Edge, oneShot: false, armed: true, _nextToken++));

    /// <summary>
    /// Watches a host source (stdin, a tap): when armed and readable, the loop disarms it and tells
    /// <paramref name="message"/>; the actor re-arms it once it has somewhere to put more data.
    /// </summary>
    public FdWatch WatchReadable(FileDescriptor descriptor, object message, bool armed)
        => Add(new FdWatch(descriptor, message, EPollTrigger.Level, oneShot: true, armed, _nextToken++));

    /// <summary>
    /// Why lazy: a source is armed and disarmed as often as every frame, so disarming only flips a flag; a level watch
    /// leaves the epoll set only if it fires while disarmed, and arming re-adds it then. An edge that came while
    /// disarmed is told on arming, as it will not come again.
    /// </summary>
    public void Arm(FdWatch watch, bool armed)
    {
        RequireLoopThread();
        if (watch.Armed == armed)
        {
            return;
        }
        watch.Armed = armed;
        if (!armed)
        {
            return;
        }
        if (watch.Trigger == EPollTrigger.Level && !watch.Registered && !watch.AlwaysReady)
        {
            Register(watch);
        }
        else if (watch.Pending)
        {
            watch.Pending = false;
            Fire(watch);
        }
    }

    /// <summary>Stops watching: the actor calls this before it closes the descriptor.</summary>
    public void Unwatch(FdWatch watch)
    {
        RequireLoopThread();
        if (!_watches.Remove(watch) || !watch.Registered)
        {
            return;
        }
        watch.Registered = false;
        if (!TryDeregister(watch))
        {
            _reportFailure(new ObjectDisposedException($"{_thread.Name}: fd watched for {watch.Message} was closed before it was unwatched"));
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
        if (watch.Armed || watch.Trigger == EPollTrigger.Edge)
        {
            // An edge watch stays registered even while disarmed, or the edges it misses would be lost for good.
            Register(watch);
        }
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
        _epoll.Dispose();
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
    /// Why: the only place the thread blocks. epoll_wait on the wake eventfd and every registered watch, then tell the
    /// actor about each armed one that fired. Nothing is read: eventfds are edge-triggered, sources are the actor's.
    /// </summary>
    private void Sleep(Span<EPollReady> ready)
    {
        if (_epollStale)
        {
            RebuildEPoll();
        }
        bool alwaysReady = AnyArmedAlwaysReady();
        Interlocked.Exchange(ref _sleeping, 1);
        if (!_fromOtherThreads.IsEmpty || _stopping)
        {
            Volatile.Write(ref _sleeping, 0);
            return;
        }
        IdlePoller? poller = _idlePoller is { Enabled: true } enabled ? enabled : null;
        long asleep = poller is null ? 0 : Stopwatch.GetTimestamp();
        int count = _epoll.Wait(ready, block: !alwaysReady);
        Volatile.Write(ref _sleeping, 0);
        bool woken = false;
        for (int i = 0; i < count; i++)
        {
            if (ready[i].Token != WakeToken)
            {
                woken |= Fired(ready[i].Token);
            }
        }
        if (alwaysReady)
        {
            woken |= FireAlwaysReady();
        }
        if (woken)
        {
            poller?.Slept(Stopwatch.GetTimestamp() - asleep);
        }
    }

    /// <summary>Why: one reported token becomes one Tell, unless its watch is disarmed or gone. True when it told.</summary>
    private bool Fired(ulong token)
    {
        FdWatch? watch = Find(token);
        if (watch is null || watch.Descriptor.IsClosed)
        {
            // A descriptor closed while still registered, whose file lives on elsewhere (a front end's kick): only a
            // new epoll set forgets it.
            _epollStale = true;
            return false;
        }
        if (!watch.Armed)
        {
            if (watch.Trigger == EPollTrigger.Edge)
            {
                watch.Pending = true;
            }
            else if (watch.Registered)
            {
                // Disarmed lazily and still readable: now it leaves the set, or every wait would report it.
                watch.Registered = false;
                TryDeregister(watch);
            }
            return false;
        }
        Fire(watch);
        return true;
    }

    private void Fire(FdWatch watch)
    {
        if (watch.OneShot)
        {
            watch.Armed = false;
        }
        _owner.Tell(watch.Message, ActorRefs.NoSender);
    }

    private FdWatch? Find(ulong token)
    {
        foreach (FdWatch watch in _watches)
        {
            if (watch.Token == token)
            {
                return watch;
            }
        }
        return null;
    }

    private bool AnyArmedAlwaysReady()
    {
        foreach (FdWatch watch in _watches)
        {
            if (watch.AlwaysReady && watch.Armed)
            {
                return true;
            }
        }
        return false;
    }

    private bool FireAlwaysReady()
    {
        bool fired = false;
        foreach (FdWatch watch in _watches)
        {
            if (watch.AlwaysReady && watch.Armed)
            {
                Fire(watch);
                fired = true;
            }
        }
        return fired;
    }

    /// <summary>
    /// Why: adding is where a bad descriptor shows. One closed under the actor costs the watch, not the thread; one
    /// epoll cannot watch (a regular file, which poll() calls always readable) is treated as always readable.
    /// </summary>
    private void Register(FdWatch watch)
    {
        try
        {
            _epoll.Add(watch.Descriptor, watch.Token, watch.Trigger);
            watch.Registered = true;
        }
        catch (SystemCallException e) when (e.Errno == Errno.EPERM)
        {
            watch.AlwaysReady = true;
        }
        catch (ObjectDisposedException e)
        {
            _watches.Remove(watch);
            _reportFailure(e);
        }
    }

    /// <summary>Takes a watch out of the epoll set; false when its descriptor was already closed (then only a new set forgets it).</summary>
    private bool TryDeregister(FdWatch watch)
    {
        try
        {
            _epoll.Remove(watch.Descriptor);
            return true;
        }
        catch (ObjectDisposedException)
        {
            _epollStale = true;
            return false;
        }
    }

    /// <summary>A fresh epoll set with the wake eventfd and every live registered watch: how a closed-but-registered descriptor is forgotten.</summary>
    private void RebuildEPoll()
    {
        EPoll fresh = NewEPoll();
        lock (_wakeLock)
        {
            _epoll.Dispose();
            _epoll = fresh;
        }
        _epollStale = false;
        foreach (FdWatch watch in _watches.ToList())
        {
            if (watch.Descriptor.IsClosed)
            {
                _watches.Remove(watch);
                _reportFailure(new ObjectDisposedException($"{_thread.Name}: fd watched for {watch.Message} was closed while still watched"));
            }
            else if (watch.Registered || watch.Trigger == EPollTrigger.Edge)
            {
                watch.Registered = false;
                Register(watch);
            }
        }
    }

    private EPoll NewEPoll()
    {
        EPoll epoll = EPoll.Create();
        try
        {
            epoll.Add(_wake.Descriptor, WakeToken, EPollTrigger.Edge);
        }
        catch
        {
            epoll.Dispose();
            throw;
        }
        return epoll;
    }
}
