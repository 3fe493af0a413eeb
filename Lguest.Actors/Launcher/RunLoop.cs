using Akka.Actor;
using Lguest.Actors.Engines;

namespace Lguest.Actors.Launcher;

/// <summary>
/// The seed's run_guest, on a thread of its own so no dispatcher ever blocks in the engine. The thread only runs
/// the guest and Tells the guest actor what came back; for a NOTIFY it then waits, with the guest paused exactly as
/// /dev/lguest pauses it, until the actor has handled the notification and calls <see cref="Resume"/>.
/// </summary>
internal sealed class RunLoop : IDisposable
{
    private readonly IGuestEngine _engine;
    private readonly IActorRef _guest;
    private readonly SemaphoreSlim _resume = new(0);
    private readonly Thread _thread;
    private volatile bool _stopping;

    public RunLoop(IGuestEngine engine, IActorRef guest)
    {
        _engine = engine;
        _guest = guest;
        _thread = new Thread(Run) { IsBackground = true, Name = "guest run loop" };
    }

    public void Start() => _thread.Start();

    /// <summary>The guest actor has finished with the last NOTIFY: let the guest run again.</summary>
    public void Resume() => _resume.Release();

    public void Dispose()
    {
        _stopping = true;
        _engine.Stop();
        _resume.Release();
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
        _resume.Dispose();
    }

    private void Run()
    {
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
