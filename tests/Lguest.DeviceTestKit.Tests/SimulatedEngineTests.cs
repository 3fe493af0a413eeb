using System.Diagnostics;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit;
using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit.Tests;

public sealed class SimulatedEngineTests : IDisposable
{
    private static readonly SimulatedSettings Settings = new(TimeSpan.FromSeconds(1), string.Empty);
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(1 << 20);

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void Run_before_Initialize_throws()
    {
        using var engine = new SimulatedEngine(Settings, hv => hv.PowerOff());
        Assert.Throws<InvalidOperationException>(() => engine.Run());
    }

    [Fact]
    public void Initialize_exposes_memory_limit_and_entry_point_to_the_guest()
    {
        string? seen = null;
        using var engine = Start(hv => seen = $"{hv.Memory.Size:x} {hv.GuestLimit:x} {hv.EntryPoint:x}");
        Assert.IsType<EngineOutcome.Died>(engine.Run());
        Assert.Equal("100000 f0000 1234", seen);
    }

    [Fact]
    public void Notify_without_an_eventfd_is_returned_from_Run_and_the_next_Run_resumes_the_guest()
    {
        int after = 0;
        using var engine = Start(hv =>
        {
            hv.Notify(0x1000);
            Volatile.Write(ref after, 1);
            hv.PowerOff();
        });

        Assert.Equal(new EngineOutcome.Notify(0x1000), engine.Run());
        EngineOutcome next = engine.Run();
        Assert.Equal(1, Volatile.Read(ref after));
        Assert.True(Assert.IsType<EngineOutcome.Died>(next).IsPowerOff);
    }

    [Fact]
    public void A_guest_paused_at_a_notify_never_runs_on_without_a_Run()
    {
        int after = 0;
        var engine = Start(hv =>
        {
            hv.Notify(0x1000);
            Volatile.Write(ref after, 1);
            hv.PowerOff();
        });

        Assert.Equal(new EngineOutcome.Notify(0x1000), engine.Run());
        // Dispose stops the engine and joins the guest's CPU thread: had Notify returned without a Run, the guest would
        // have gone on to set the flag before the join returned; paused, it unwinds from Notify instead.
        engine.Dispose();
        Assert.Equal(0, Volatile.Read(ref after));
    }

    [Fact]
    public void Notify_with_an_attached_eventfd_signals_it_and_does_not_return_from_Run()
    {
        using EventFd kick = EventFd.Create(nonBlocking: true);
        using var engine = Start(hv =>
        {
            hv.Notify(0x2000);
            hv.Notify(0x2000);
            hv.Notify(0x3000);
            hv.PowerOff();
        });
        engine.AttachEventFd(0x2000, kick);

        Assert.Equal(new EngineOutcome.Notify(0x3000), engine.Run());
        Assert.Equal(2UL, kick.Drain());
        Assert.IsType<EngineOutcome.Died>(engine.Run());
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.AttachEventFd(0, kick));
    }

    [Fact]
    public void Interrupts_raised_before_anyone_waits_are_remembered_until_waited_for()
    {
        using var engine = Start(hv =>
        {
            bool first = hv.WaitForInterrupt(5, TimeSpan.Zero);
            bool second = hv.WaitForInterrupt(5, TimeSpan.FromMilliseconds(20));
            uint others = hv.TakePendingInterrupts();
            hv.Panic($"{first} {second} {others:x}");
        });
        engine.Interrupt(5);
        engine.Interrupt(9);

        Assert.Equal(new EngineOutcome.Died("CRASH: True False 200"), engine.Run());
        Assert.Equal(2, engine.InterruptsRaised);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Interrupt(32));
    }

    [Fact]
    public async Task An_interrupt_wakes_a_waiting_guest()
    {
        Thread? cpu = null;
        using var engine = Start(hv =>
        {
            Volatile.Write(ref cpu, Thread.CurrentThread);
            if (!hv.WaitForInterrupt(7, TimeSpan.FromSeconds(10)))
            {
                hv.Panic("no interrupt");
            }
            hv.PowerOff();
        });
        var clock = Stopwatch.StartNew();
        Task<EngineOutcome> run = Task.Run(engine.Run);
        // The guest is waiting once its CPU thread blocks: nothing else it does before the wait can block it.
        Assert.True(SpinWait.SpinUntil(
            () => Volatile.Read(ref cpu) is { } t && (t.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0,
            TimeSpan.FromSeconds(10)));
        engine.Interrupt(7);

        EngineOutcome outcome = await run.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(Assert.IsType<EngineOutcome.Died>(outcome).IsPowerOff);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    public static TheoryData<string, EngineOutcome> Halts => new()
    {
        { "poweroff", new EngineOutcome.Died("CRASH: Power down") },
        { "reboot", new EngineOutcome.Restart() },
        { "panic", new EngineOutcome.Died("CRASH: it hurts") },
        { "return", new EngineOutcome.Died("CRASH: the guest returned from its entry point") },
        { "throw", new EngineOutcome.Died("CRASH: InvalidOperationException: boom") },
    };

    [Theory]
    [MemberData(nameof(Halts))]
    public void Each_way_of_stopping_gives_its_outcome_and_nothing_runs_after_a_halt(string how, EngineOutcome expected)
    {
        bool ranOn = false;
        using var engine = Start(hv =>
        {
            switch (how)
            {
                case "poweroff": hv.PowerOff(); break;
                case "reboot": hv.Reboot(); break;
                case "panic": hv.Panic("it hurts"); break;
                case "throw": throw new InvalidOperationException("boom");
                default: return;
            }
            ranOn = true;
        });

        Assert.Equal(expected, engine.Run());
        // A dead guest stays dead: asking again gives the same answer instead of blocking.
        Assert.Equal(expected, engine.Run());
        Assert.False(ranOn);
    }

    [Fact]
    public async Task Stop_unblocks_Run_promptly_and_Dispose_joins_the_cpu_thread()
    {
        int exited = 0;
        using var waiting = new ManualResetEventSlim();
        var engine = Start(hv =>
        {
            try
            {
                waiting.Set();
                hv.WaitForInterrupt(3, TimeSpan.FromMinutes(1));
            }
            finally
            {
                Volatile.Write(ref exited, 1);
            }
        });
        Task<EngineOutcome> run = Task.Run(engine.Run);
        Assert.True(waiting.Wait(TimeSpan.FromSeconds(5)));
        var clock = Stopwatch.StartNew();
        engine.Stop();

        Assert.IsType<EngineOutcome.Stopped>(await run.WaitAsync(TimeSpan.FromSeconds(2)));
        engine.Dispose();
        Assert.Equal(1, Volatile.Read(ref exited));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
        engine.Dispose();
    }

    [Fact]
    public void Stop_while_the_guest_is_paused_at_a_notify_unwinds_it()
    {
        int exited = 0;
        var engine = Start(hv =>
        {
            try
            {
                hv.Notify(0x1000);
            }
            finally
            {
                Volatile.Write(ref exited, 1);
            }
        });
        Assert.IsType<EngineOutcome.Notify>(engine.Run());
        engine.Stop();
        Assert.IsType<EngineOutcome.Stopped>(engine.Run());
        engine.Dispose();
        Assert.Equal(1, Volatile.Read(ref exited));
    }

    private SimulatedEngine Start(Action<ISimulatedHypervisor> guest)
    {
        var engine = new SimulatedEngine(Settings, guest);
        engine.Initialize(_memory, 0xf0000, 0x1234);
        return engine;
    }
}
