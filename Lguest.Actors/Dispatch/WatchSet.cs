using Lguest.Native.Interop;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// The descriptors one <see cref="EventLoop"/> sleeps on, in an epoll set of their own: the loop's wake eventfd and
/// every <see cref="FdWatch"/> its actor registered. Registering once, instead of handing poll() the whole set on every
/// sleep, and edge-triggering eventfds, instead of reading each one to reset it, leave the wait itself as the only
/// system call of a wake-up. Used only on the loop's thread.
/// </summary>
internal sealed class WatchSet : IDisposable
{
    private const ulong WakeToken = 0;

    private readonly List<FdWatch> _watches = [];
    private readonly string _name;
    private readonly EventFd _wake;
    private readonly Action<FdWatch> _fire;
    private readonly Action<Exception> _reportFailure;
    private EPoll _epoll;
    private bool _stale;
    private ulong _nextToken = WakeToken + 1;

    /// <param name="fire">Tells the actor about a watch that fired (after a one-shot one has been disarmed).</param>
    public WatchSet(string name, EventFd wake, Action<FdWatch> fire, Action<Exception> reportFailure)
    {
        _name = name;
        _wake = wake;
        _fire = fire;
        _reportFailure = reportFailure;
        _epoll = NewEPoll();
    }

    public FdWatch Add(FileDescriptor descriptor, object message, EPollTrigger trigger, bool oneShot, bool armed)
    {
        var watch = new FdWatch(descriptor, message, trigger, oneShot, armed, _nextToken++);
        _watches.Add(watch);
        if (armed || trigger == EPollTrigger.Edge)
        {
            // An edge watch stays registered even while disarmed, or the edges it misses would be lost for good.
            Register(watch);
        }
        return watch;
    }

    /// <summary>
    /// Why lazy: a source is armed and disarmed as often as every frame, so disarming only flips a flag; a level watch
    /// leaves the epoll set only if it fires while disarmed, and arming re-adds it then. An edge that came while
    /// disarmed is told on arming, as it will not come again.
    /// </summary>
    public void Arm(FdWatch watch, bool armed)
    {
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

    public void Remove(FdWatch watch)
    {
        if (!_watches.Remove(watch) || !watch.Registered)
        {
            return;
        }
        watch.Registered = false;
        if (!TryDeregister(watch))
        {
            _reportFailure(new ObjectDisposedException($"{_name}: the fd watched for {watch.Message} was closed (or replaced) before it was unwatched"));
        }
    }

    /// <summary>
    /// Why: the loop's only blocking call. Waits (or only looks, when a source epoll cannot watch is armed, since that
    /// one is always ready) and fires every armed watch that is ready; the wake eventfd needs nothing, as its only
    /// job was to end the wait. Returns whether any watch fired.
    /// </summary>
    public bool Wait(Span<EPollReady> ready)
    {
        if (_stale)
        {
            Rebuild();
        }
        bool alwaysReady = AnyArmedAlwaysReady();
        int count = _epoll.Wait(ready, block: !alwaysReady);
        bool fired = false;
        for (int i = 0; i < count; i++)
        {
            if (ready[i].Token != WakeToken)
            {
                fired |= Fired(ready[i].Token);
            }
        }
        return (alwaysReady && FireAlwaysReady()) | fired;
    }

    public void Dispose() => _epoll.Dispose();

    /// <summary>Why: one reported token becomes one Tell, unless its watch is disarmed or gone. True when it told.</summary>
    private bool Fired(ulong token)
    {
        FdWatch? watch = Find(token);
        if (watch is null || watch.Descriptor.IsClosed)
        {
            // A descriptor closed while still registered, whose file lives on elsewhere (a front end's kick): only a
            // new epoll set forgets it.
            _stale = true;
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
        _fire(watch);
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

    /// <summary>
    /// Takes a watch out of the epoll set; false when its descriptor was already closed, or the kernel no longer knows
    /// it under that number: then only a new set is sure to forget it, and the loop builds one before its next wait.
    /// </summary>
    private bool TryDeregister(FdWatch watch)
    {
        try
        {
            _epoll.Remove(watch.Descriptor);
            return true;
        }
        catch (Exception e) when (e is ObjectDisposedException or SystemCallException)
        {
            _stale = true;
            return false;
        }
    }

    /// <summary>A fresh epoll set with the wake eventfd and every live registered watch: how a closed-but-registered descriptor is forgotten.</summary>
    private void Rebuild()
    {
        EPoll fresh = NewEPoll();
        _epoll.Dispose();
        _epoll = fresh;
        _stale = false;
        foreach (FdWatch watch in _watches.ToList())
        {
            if (watch.Descriptor.IsClosed)
            {
                _watches.Remove(watch);
                _reportFailure(new ObjectDisposedException($"{_name}: the fd watched for {watch.Message} was closed while still watched"));
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
