using System.Diagnostics;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// Adaptive polling, QEMU's poll-max-ns idea: before its thread sleeps, an <see cref="EventLoop"/> asks an armed
/// poller whether work has arrived, for up to <see cref="WindowTicks"/>. The window doubles (from a start value up
/// to the maximum) each time polling finds work and halves each time it runs out, so a busy queue is caught without
/// a wake-up and an idle one soon costs nothing. As in QEMU, the sleep decides: woken by work sooner than the maximum
/// window, the window grows (polling that long would have caught it); later, it halves, and below the start closes.
/// </summary>
internal abstract class IdlePoller
{
    private readonly long _maxTicks;
    private readonly long _startTicks;

    protected IdlePoller(TimeSpan maxWindow, object workMessage, object expiredMessage)
    {
        _maxTicks = (long)(maxWindow.TotalSeconds * Stopwatch.Frequency);
        _startTicks = Math.Min(_maxTicks, Stopwatch.Frequency / 250_000); // 4 µs, as QEMU's poll-grow starts
        WorkMessage = workMessage;
        ExpiredMessage = expiredMessage;
    }

    /// <summary>Whether the loop should poll before its next sleep: the actor arms it after a drain that found the ring empty.</summary>
    public bool Armed { get; set; }

    /// <summary>How long the next poll may last, in <see cref="Stopwatch"/> ticks; 0 once idle.</summary>
    public long WindowTicks { get; private set; }

    /// <summary>Told to the actor when polling found work.</summary>
    public object WorkMessage { get; }

    /// <summary>Told to the actor when the window closed empty: it re-enables notifications and sleeps.</summary>
    public object ExpiredMessage { get; }

    public bool Enabled => _maxTicks > 0;

    /// <summary>Arms the poller after a drain that left the ring empty; a closed window does not poll.</summary>
    public void ArmAfterDrain() => Armed = WindowTicks > 0;

    /// <summary>Cheap, side-effect-free check for new work (an avail index that moved).</summary>
    public abstract bool HasWork();

    internal void Found() => Armed = false;

    internal void Expired() => Armed = false;

    /// <summary>
    /// The loop slept <paramref name="ticks"/> and was woken by work. Shorter than the maximum window: polling that
    /// long would have caught it, so the window grows. Longer: the queue is idle, so the window shrinks towards zero.
    /// </summary>
    internal void Slept(long ticks)
    {
        if (!Enabled || ticks <= WindowTicks)
        {
            return;
        }
        if (ticks > _maxTicks)
        {
            long halved = WindowTicks / 2;
            WindowTicks = halved < _startTicks ? 0 : halved;
        }
        else
        {
            WindowTicks = WindowTicks == 0 ? _startTicks : Math.Min(_maxTicks, WindowTicks * 2);
        }
    }
}
