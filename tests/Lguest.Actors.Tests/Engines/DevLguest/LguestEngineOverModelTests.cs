using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit.LguestModel;
using Lguest.DeviceTestKit;
using Lguest.Actors.Launcher;
using Lguest.Actors.Tests.DeviceSimulation;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Engines.DevLguest;

/// <summary>
/// The real LguestEngine (through its /dev/lguest channel) against the kernel model: the rules the launcher broke
/// before, where they bite.
/// </summary>
public sealed class LguestEngineOverModelTests(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void An_engine_initialized_on_one_thread_and_run_on_another_is_refused_with_EPERM()
    {
        using var memory = GuestMemory.CreateFlat(1 << 20);
        using IGuestEngine engine = LguestModelEngine.Create("/dev/lguest", hv => hv.PowerOff());
        var initializer = new Thread(() => engine.Initialize(memory, memory.Size, 0x100000));
        initializer.Start();
        initializer.Join();

        var e = Assert.Throws<SystemCallException>(() => engine.Run());

        Assert.Equal(Errno.EPERM, e.Errno);
    }

    [Fact]
    public void An_engine_initialized_and_run_on_one_thread_runs_the_guest()
    {
        using var memory = GuestMemory.CreateFlat(1 << 20);
        using IGuestEngine engine = LguestModelEngine.Create("/dev/lguest", hv =>
        {
            hv.Notify(0x1000);
            hv.PowerOff();
        });
        engine.Initialize(memory, memory.Size, 0x100000);

        Assert.Equal(new EngineOutcome.Notify(0x1000), engine.Run());
        Assert.True(Assert.IsType<EngineOutcome.Died>(engine.Run()).IsPowerOff);
    }

    [Fact]
    public void Stop_signals_the_run_loop_thread_out_of_a_running_guest()
    {
        using var memory = GuestMemory.CreateFlat(1 << 20);
        using IGuestEngine engine = LguestModelEngine.Create("/dev/lguest", hv =>
        {
            while (true)
            {
                hv.WaitForInterrupt(7, TimeSpan.FromMilliseconds(20)); // a guest that idles and never needs us
            }
        });
        EngineOutcome? outcome = null;
        using var running = new ManualResetEventSlim();
        var runLoop = new Thread(() =>
        {
            engine.Initialize(memory, memory.Size, 0x100000);
            running.Set();
            outcome = engine.Run();
        });
        runLoop.Start();
        running.Wait();

        do
        {
            engine.Stop(); // as RunLoop.Dispose does: repeated, since a signal between reads is spent
        }
        while (!runLoop.Join(TimeSpan.FromMilliseconds(20)));

        Assert.IsType<EngineOutcome.Stopped>(outcome);
    }

    [Fact]
    public async Task Stopping_the_launcher_during_a_running_guest_exits_0_promptly()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null);
        using var shutdown = new CancellationTokenSource();
        using var idling = new ManualResetEventSlim();

        Task<LauncherExit> exit = rig.RunAsync(Sys, guest =>
        {
            idling.Set();
            guest.IdleUntilStopped();
        }, shutdown.Token);
        Assert.True(idling.Wait(Bound));
        shutdown.Cancel();

        // Generous, yet well under the 10 s GracefulStop after which RunAsync would give up on a run loop that never
        // came out of the guest (as it never did when the stop was an LHREQ_BREAK the kernel refuses).
        LauncherExit result = await exit.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(LauncherExit.PoweredOff, result.ExitCode);
        Assert.Equal("stopped", result.Message);
    }

    [Fact]
    public void The_simulated_engine_keeps_the_first_eventfd_for_an_address_as_the_kernel_does()
    {
        using var memory = GuestMemory.CreateFlat(1 << 20);
        using var first = EventFd.Create(nonBlocking: true);
        using var second = EventFd.Create(nonBlocking: true);
        using var engine = new SimulatedEngine(new SimulatedSettings(TimeSpan.FromSeconds(1), string.Empty), hv =>
        {
            hv.Notify(0x2000);
            hv.PowerOff();
        });
        engine.Initialize(memory, memory.Size, 0x100000);
        engine.AttachEventFd(0x2000, first);
        engine.AttachEventFd(0x2000, second);

        Assert.IsType<EngineOutcome.Died>(engine.Run());

        Assert.Equal(1UL, first.Drain());
        Assert.Equal(0UL, second.Drain());
    }
}
