using Akka.Actor;
using Lguest.Actors.Engines;
using Lguest.Native.Memory;

namespace Lguest.Actors.Launcher;

/// <summary>
/// The seed's tell_kernel() and run_guest(), on a thread of its own so no dispatcher ever blocks in the engine. The
/// kernel binds a guest to the task that wrote LHREQ_INITIALIZE and answers EPERM to a read from any other, and the
/// seed did both on its one thread: so this thread initializes the engine, then runs the guest, and nothing else
/// does either. It only Tells the guest actor what came back; for a NOTIFY it then waits, with the guest paused
/// exactly as /dev/lguest pauses it, until the actor has handled the notification and calls <see cref="Resume"/>.
/// </summary>
internal sealed class RunLoop : IDisposable
{
    private static readonly TimeSpan StopRetry = TimeSpan.FromMilliseconds(20);

    private readonly IGuestEngine _engine;
    private readonly IActorRef _guest;
    private readonly GuestMemory _memory;
    private readonly ulong _guestLimit;
    private readonly ulong _entryPoint;
    private readonly SemaphoreSlim _resume = new(0);
    private readonly ManualResetEventSlim _initialized = new();
    private readonly ManualResetEventSlim _go = new();
    private readonly Thread _thread;
    private Exception? _initializeFailure;
    private volatile bool _stopping;

    public RunLoop(IGuestEngine engine, IActorRef guest, GuestMemory memory, ulong guestLimit, ulong entryPoint)
    {
        _engine = engine;
        _guest = guest;
        _memory = memory;
        _guestLimit = guestLimit;
        _entryPoint = entryPoint;
        _thread = new Thread(Run) { IsBackground = true, Name = "guest run loop" };
    }

    /// <summary>
    /// Starts the thread and waits until it has initialized the engine (LHREQ_INITIALIZE from the thread that will
    /// run the guest); rethrows a failure. The guest does not run until <see cref="Start"/>, so the seed's chroot and
    /// privilege drop still come between the two.
    /// </summary>
    public void Initialize()
    {
        _thread.Start();
        _initialized.Wait();
        if (_initializeFailure is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Lets the initialized guest run.</summary>
    public void Start() => _go.Set();

    /// <summary>The guest actor has finished with the last NOTIFY: let the guest run again.</summary>
    public void Resume() => _resume.Release();

    /// <summary>
    /// Stops the engine and joins the thread. Stop is repeated until the thread is out: on /dev/lguest it is a signal
    /// to this thread, and one that lands between two reads is spent without effect.
    /// </summary>
    public void Dispose()
    {
        _stopping = true;
        _go.Set();
        _resume.Release();
        if (_thread.ThreadState != ThreadState.Unstarted)
        {
            do
            {
                _engine.Stop();
            }
            while (!_thread.Join(StopRetry));
        }
        _resume.Dispose();
        _initialized.Dispose();
        _go.Dispose();
    }

    /// <summary>
    /// tell_kernel() then run_guest(), on this one thread, because the kernel only lets the initializing task run the
    /// guest; between them it waits for <see cref="Start"/> so the chroot and privilege drop come first, as in the seed.
    /// </summary>
    private void Run()
    {
        try
        {
            _engine.Initialize(_memory, _guestLimit, _entryPoint);
        }
        catch (Exception e)
        {
            _initializeFailure = e;
            _initialized.Set();
            return;
        }
        _initialized.Set();
        _go.Wait();
        try
        {
            while (!_stopping)
            {
                EngineOutcome outcome = _engine.Run();
                if (outcome is EngineOutcome.Stopped || _stopping)
                {
                    return;
                }
                _guest.Tell(outcome);
                if (outcome is not EngineOutcome.Notify)
                {
                    return;
                }
                _resume.Wait();
            }
        }
        catch (Exception e)
        {
            if (!_stopping)
            {
                _guest.Tell(new RunLoopFailed(e));
            }
        }
    }
}

/// <summary>The engine itself failed (not the guest): /dev/lguest returned an error we do not know.</summary>
internal sealed record RunLoopFailed(Exception Cause);
