using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// Akka's scheduler over .NET's timer queue: one <see cref="Timer"/> per scheduled item, armed for exactly its
/// deadline. Akka's default (HashedWheelTimerScheduler) ticks every 10 ms forever once anything has been
/// scheduled, and each vhost-user connection schedules a handshake deadline, so an idle launcher with a connected
/// front end burned ~28 ms of CPU a second. Here nothing wakes while nothing is due (issue 11: "with polling off,
/// an idle back end uses no CPU"). Akka creates it by type name from akka.scheduler.implementation with this
/// constructor, and disposes it at ActorSystem termination; after that no scheduled item runs.
/// </summary>
internal sealed class TimerQueueScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    /// <summary>The longest due time a <see cref="Timer"/> accepts; longer delays are armed in steps.</summary>
    private static readonly TimeSpan LongestArm = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private static readonly long ClockOrigin = Stopwatch.GetTimestamp();

    private readonly ConcurrentDictionary<ScheduledItem, byte> _pending = new();
    private volatile bool _disposed;

    public TimerQueueScheduler(Config scheduler, ILoggingAdapter log)
        : base(scheduler, log)
    {
    }

    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(ClockOrigin);

    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(ClockOrigin);

    protected override DateTimeOffset TimeNow => DateTimeOffset.Now;

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Arm(delay, null, () => receiver.Tell(message, sender), cancelable);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Arm(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Arm(delay, null, action, cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Arm(delay, null, action.Run, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Arm(initialDelay, interval, action, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Arm(initialDelay, interval, action.Run, cancelable);

    /// <summary>
    /// Stops every pending timer. Akka calls this when the ActorSystem terminates; a callback already on its way
    /// sees the flag and does nothing, so nothing runs against a dead system.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (ScheduledItem item in _pending.Keys)
        {
            item.Stop();
        }

        _pending.Clear();
    }

    private void Arm(TimeSpan delay, TimeSpan? interval, Action work, ICancelable? cancelable)
    {
        // Akka's own wheel silently drops work scheduled after shutdown; the same here, rather than a timer that
        // would outlive the system.
        if (_disposed || cancelable?.IsCancellationRequested == true)
        {
            return;
        }

        var item = new ScheduledItem(this, work, interval, cancelable);
        _pending.TryAdd(item, 0);
        item.Start(delay);

        // Dispose may have swept the set just before this item joined it.
        if (_disposed)
        {
            Forget(item);
        }
    }

    private void Forget(ScheduledItem item)
    {
        item.Stop();
        _pending.TryRemove(item, out _);
    }

    /// <summary>One scheduled piece of work and the timer that is armed for its next deadline.</summary>
    private sealed class ScheduledItem
    {
        private readonly TimerQueueScheduler _owner;
        private readonly Action _work;
        private readonly TimeSpan? _interval;
        private readonly ICancelable? _cancelable;
        private readonly Timer _timer;
        private CancellationTokenRegistration _onCancel;
        private TimeSpan _deadline;
        private int _stopped;

        public ScheduledItem(TimerQueueScheduler owner, Action work, TimeSpan? interval, ICancelable? cancelable)
        {
            _owner = owner;
            _work = work;
            _interval = interval;
            _cancelable = cancelable;
            _timer = new Timer(static state => ((ScheduledItem)state!).Fire(), this, Timeout.Infinite, Timeout.Infinite);
        }

        public void Start(TimeSpan delay)
        {
            _deadline = _owner.MonotonicClock + delay;
            if (_cancelable is not null)
            {
                // Runs at once (and so stops the timer before it is armed) if the cancel already happened.
                _onCancel = _cancelable.Token.Register(static state => { var self = (ScheduledItem)state!; self._owner.Forget(self); }, this);
            }

            ArmUntilDeadline();
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 0)
            {
                _timer.Dispose();
                _onCancel.Dispose();
            }
        }

        private bool Stopped => Volatile.Read(ref _stopped) != 0 || _owner._disposed || _cancelable?.IsCancellationRequested == true;

        private void ArmUntilDeadline()
        {
            TimeSpan remaining = _deadline - _owner.MonotonicClock;
            // Whole milliseconds, rounded up: the timer queue counts in milliseconds and truncates, so a wake a
            // fraction early would otherwise re-arm for 0 ms, again and again, until the deadline passed.
            remaining = remaining <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds));

            try
            {
                _timer.Change(remaining > LongestArm ? LongestArm : remaining, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Stopped (cancelled or shut down) between the check and the re-arm: nothing is left to do.
            }
        }

        private void Fire()
        {
            if (Stopped)
            {
                _owner.Forget(this);
                return;
            }

            // A delay longer than one timer can hold arrives here early: arm the next step.
            if (_owner.MonotonicClock < _deadline)
            {
                ArmUntilDeadline();
                return;
            }

            try
            {
                _work();
            }
            catch (Exception e)
            {
                // A timer callback that throws would take the whole process down; a bad scheduled action must not.
                _owner.Log.Error(e, "A scheduled action failed");
            }

            if (_interval is { } interval && !Stopped)
            {
                // Fixed rate, as Akka's periodic timers expect; re-armed only after the run, so a slow action never
                // overlaps itself, and one that fell far behind (a suspended process) does not fire in a burst.
                TimeSpan now = _owner.MonotonicClock;
                _deadline = _deadline + interval < now ? now : _deadline + interval;
                ArmUntilDeadline();
            }
            else
            {
                _owner.Forget(this);
            }
        }
    }
}
