using Lguest.Actors.Configuration;

namespace Lguest.Actors.Supervision;

/// <summary>
/// How many restart-device recoveries a device may still spend within the sliding window. It belongs to the device,
/// not to whichever actor happens to serve it: a vhost-user back end gives each front-end connection a fresh device
/// actor, and a budget that came with the actor would be reset by simply reconnecting.
/// </summary>
internal sealed class RestartBudget(SupervisionSettings supervision, Func<DateTime>? clock = null)
{
    private readonly Queue<DateTime> _restarts = new();
    private readonly Func<DateTime> _clock = clock ?? (() => DateTime.UtcNow);
    private readonly object _gate = new();

    public int MaxRestarts => supervision.MaxRestarts;

    public TimeSpan Window => supervision.RestartWindow;

    /// <summary>Spends one restart and returns how many are spent in the window, or null when none is left.</summary>
    public int? TrySpend()
    {
        lock (_gate)
        {
            DateTime now = _clock();
            while (_restarts.Count > 0 && now - _restarts.Peek() > supervision.RestartWindow)
            {
                _restarts.Dequeue();
            }
            if (_restarts.Count >= supervision.MaxRestarts)
            {
                return null;
            }
            _restarts.Enqueue(now);
            return _restarts.Count;
        }
    }
}
