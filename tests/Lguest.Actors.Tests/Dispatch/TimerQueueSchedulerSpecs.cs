using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Dispatch;
using Lguest.Actors.Tests.Devices;
using Lguest.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Dispatch;

/// <summary>
/// The launcher's scheduler as actors use it (reference.conf selects it): scheduled tells and actions arrive, stop
/// when cancelled, Akka's Timers and Ask timeouts work over it, and an idle system with a timer pending does not
/// wake up. Runs alone because the last one counts the whole process's wake-ups.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class TimerQueueSchedulerSpecs(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Half of what a 10 ms tick alone costs (Akka's default wheel measured ~280 a second here); the runtime and the
    /// test framework account for ~30 of their own.
    /// </summary>
    private const int QuietWakeups = 50;

    [Fact]
    public void The_reference_configuration_selects_the_tickless_scheduler() =>
        Assert.IsType<TimerQueueScheduler>(Sys.Scheduler);

    [Fact]
    public void A_tell_scheduled_once_arrives_once_no_sooner_than_its_delay()
    {
        TimeSpan start = Sys.Scheduler.MonotonicClock;
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(200), TestActor, "due", ActorRefs.NoSender);

        ExpectMsg("due", Generous);
        Assert.True(Sys.Scheduler.MonotonicClock - start >= TimeSpan.FromMilliseconds(190), "arrived before its delay");
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Repeated_tells_keep_arriving_until_cancelled()
    {
        ICancelable cancelable = Sys.Scheduler.ScheduleTellRepeatedlyCancelable(
            TimeSpan.Zero, TimeSpan.FromMilliseconds(20), TestActor, "tick", ActorRefs.NoSender);

        for (int i = 0; i < 5; i++)
        {
            ExpectMsg("tick", Generous);
        }

        cancelable.Cancel();
        // One tick may already have been on its way when the cancel landed; none comes after that.
        ReceiveWhile(TimeSpan.FromMilliseconds(200), m => m);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_timer_cancelled_before_it_is_due_never_fires()
    {
        ICancelable cancelable = Sys.Scheduler.ScheduleTellOnceCancelable(
            TimeSpan.FromMilliseconds(100), TestActor, "cancelled", ActorRefs.NoSender);
        var alreadyCancelled = new Cancelable(Sys.Scheduler);
        alreadyCancelled.Cancel();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.Zero, TestActor, "already cancelled", ActorRefs.NoSender, alreadyCancelled);
        cancelable.Cancel();

        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void Actions_run_once_and_repeatedly()
    {
        using var once = new CountdownEvent(1);
        using var repeated = new CountdownEvent(3);
        Sys.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(10), () => once.Signal());
        var cancelable = new Cancelable(Sys.Scheduler);
        Sys.Scheduler.Advanced.ScheduleRepeatedly(
            TimeSpan.Zero, TimeSpan.FromMilliseconds(10), () => { if (repeated.CurrentCount > 0) repeated.Signal(); }, cancelable);

        Assert.True(once.Wait(Generous), "the one-off action never ran");
        Assert.True(repeated.Wait(Generous), "the repeated action did not run three times");
        cancelable.Cancel();
    }

    [Fact]
    public void Akka_timers_in_an_actor_fire_single_and_periodic()
    {
        Sys.ActorOf(Props.Create(() => new TimerUser(TestActor)));

        ExpectMsg("single", Generous);
        ExpectMsg("periodic", Generous);
        ExpectMsg("periodic", Generous);
        ExpectMsg("periodic stopped", Generous);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task An_ask_nobody_answers_times_out()
    {
        IActorRef silent = Sys.ActorOf(Props.Create(() => new Silent()));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<object>("anyone?", TimeSpan.FromMilliseconds(200)));
        Assert.True(watch.Elapsed < Generous, $"the ask took {watch.Elapsed} to time out");
    }

    [Fact]
    public async Task Nothing_runs_after_the_system_terminates()
    {
        var other = ActorSystem.Create("terminating", TestConfig.Akka);
        int runs = 0;
        other.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(300), () => Interlocked.Increment(ref runs));
        await other.Terminate().WaitAsync(Generous);

        await Task.Delay(600);
        Assert.Equal(0, Volatile.Read(ref runs));
    }

    [Fact]
    public void An_idle_system_with_a_long_timer_pending_does_not_wake_up()
    {
        // The vhost-user handshake deadline in miniature: one long timer, then nothing to do.
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMinutes(1), TestActor, "much later", ActorRefs.NoSender);

        // A ticking scheduler wakes .NET's timer thread ~100 times a second (and the thread pool with it) and costs
        // CPU in every second. Wake-ups are counted rather than CPU alone because the CPU of a process shared with
        // the test framework, on a loaded machine, swings by tens of milliseconds; one quiet second out of several
        // is the proof.
        using var process = Process.GetCurrentProcess();
        var seconds = new List<(long Wakeups, double CpuMs)>();
        for (int attempt = 0; attempt < 8; attempt++)
        {
            process.Refresh();
            TimeSpan cpuBefore = process.TotalProcessorTime;
            long wakeupsBefore = TimerThreadWakeups();
            Thread.Sleep(1000);
            process.Refresh();
            seconds.Add((TimerThreadWakeups() - wakeupsBefore, (process.TotalProcessorTime - cpuBefore).TotalMilliseconds));
            if (seconds[^1].Wakeups < QuietWakeups)
            {
                break;
            }
        }

        string figures = string.Join(", ", seconds.Select(s => $"{s.Wakeups} wake-ups/{s.CpuMs:F1} ms CPU"));
        Output?.WriteLine($"timer thread per idle second: {figures}");
        Assert.True(seconds[^1].Wakeups < QuietWakeups, $"the timer thread never stayed asleep for a second: {figures}");
    }

    /// <summary>Context switches of .NET's timer thread so far: each is one wake-up of the process's timer queue.</summary>
    private static long TimerThreadWakeups()
    {
        long total = 0;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() != ".NET Timer")
                {
                    continue;
                }

                total += File.ReadAllLines(Path.Combine(task, "status"))
                    .Where(line => line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    .Sum(line => long.Parse(line.Split(':')[1].Trim()));
            }
            catch (IOException)
            {
                // The thread exited between the listing and the read.
            }
        }

        return total;
    }

    private sealed class TimerUser : ReceiveActor, IWithTimers
    {
        private int _periodic;

        public TimerUser(IActorRef probe)
        {
            Receive<string>(message =>
            {
                if (message == "periodic" && ++_periodic == 2)
                {
                    Timers.Cancel("periodic");
                    probe.Tell("periodic");
                    probe.Tell("periodic stopped");
                    return;
                }

                probe.Tell(message);
            });
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart()
        {
            Timers.StartSingleTimer("single", "single", TimeSpan.FromMilliseconds(50));
            Timers.StartPeriodicTimer("periodic", "periodic", TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(50));
        }
    }

    private sealed class Silent : ReceiveActor;
}
