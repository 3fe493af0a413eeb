using System.Text;
using Akka.TestKit.Xunit2;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Launcher;

/// <summary>
/// The launcher end to end on actors, with the test as the guest: NOTIFY routing, device status transitions,
/// supervision policies and the reboot path.
/// </summary>
public sealed class LauncherSpecs(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Driver_ok_starts_the_device_and_its_queues_serve_the_guest()
    {
        using var kicks = new QueueMetric("lguest.queue.kicks", "echo2");
        using var interrupts = new QueueMetric("lguest.queue.interrupts", "echo2");
        using var guest = new TestGuest(devices: new EchoDeviceSettings("echo2", Queues: 2));
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);

        side.Start(0);

        Assert.Equal(1, guest.Devices[0].Activations);
        Assert.Equal(GuestSide.Acknowledge | GuestSide.Driver | GuestSide.DriverOk, side.Status(0));
        Assert.True(engine.EventFds.ContainsKey(side.Queue(0, 0).Ring));
        Assert.True(engine.EventFds.ContainsKey(side.Queue(0, 1).Ring));

        SplitRingDriver ring = side.LayOut(0, 1);
        ring.AddBuffer([side.Readable(1, 2, 3)]);
        side.Kick(0, 1);
        Assert.Equal(3u, side.WaitUsed(ring).Length);
        AwaitCondition(() => engine.Interrupts.Contains(side.Queue(0, 1).Irq), Patience);
        AwaitCondition(() => kicks.Total("q1") == 1 && interrupts.Total("q1") >= 1, Patience);
        Assert.Equal(0, kicks.Total("q0"));

        engine.Feed(new EngineOutcome.Died("CRASH: Power down"));
        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.PoweredOff, result.ExitCode);
    }

    [Fact]
    public async Task Status_zero_resets_the_device_and_forgets_acknowledged_features()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);
        side.Start(0);
        ulong acked = side.DescriptorAddress(0) + 5 + 8 + 4; // one vqconfig, then 4 offered feature bytes
        side.Memory.Write(acked + 3, (byte)0x10); // the guest acknowledges INDIRECT_DESC (bit 28)
        SplitRingDriver ring = side.LayOut(0, 0);
        ring.PublishAvailable(5); // a stale entry the next session must not see
        (ulong ringAddress, ushort size, _) = side.Queue(0, 0);

        side.SetStatus(0, 0);

        Assert.Equal(0u, side.Memory.Read<uint>(acked));
        byte[] ringBytes = new byte[Lguest.Native.Lguest.LguestVirtqueueInfo.RingSize(size)];
        side.Memory.Read(ringAddress, ringBytes);
        Assert.All(ringBytes, b => Assert.Equal(0, b)); // as the seed's reset_device, the rings are zeroed
        AwaitCondition(() => guest.Devices[0].Resets >= 1, Patience);
        side.Start(0);
        Assert.Equal(2, guest.Devices[0].Activations);

        engine.Feed(new EngineOutcome.Died("CRASH: Power down"));
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task Failed_status_resets_a_running_device_and_forgets_acknowledged_features_as_status_zero_does()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);
        side.Start(0);
        ulong acked = side.DescriptorAddress(0) + 5 + 8 + 4; // one vqconfig, then 4 offered feature bytes
        side.Memory.Write(acked + 3, (byte)0x10); // the guest acknowledges INDIRECT_DESC (bit 28)
        int resetsBefore = guest.Devices[0].Resets;

        side.SetStatus(0, GuestSide.Acknowledge | GuestSide.Driver | GuestSide.DriverOk | GuestSide.Failed);

        AwaitCondition(() => guest.Devices[0].Resets > resetsBefore, Patience);
        // lguest.c: FAILED on a running device calls reset_device(), which memsets the acknowledged half to 0.
        Assert.Equal(0u, side.Memory.Read<uint>(acked));
        engine.Feed(new EngineOutcome.Died("CRASH: Power down"));
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task A_device_reset_and_restarted_keeps_the_eventfd_first_attached_and_its_kicks_still_arrive()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);
        side.Start(0);
        side.SetStatus(0, 0);
        AwaitCondition(() => guest.Devices[0].Resets >= 1, Patience);

        SplitRingDriver ring = side.StartWithQueue(0, 0);
        ring.AddBuffer([side.Readable(4, 5, 6)]);
        side.Kick(0, 0); // the host signals the first eventfd attached for this address

        // One LHREQ_EVENTFD per queue for the guest's life: a second one would sit behind the first, unreachable.
        Assert.Equal([side.Queue(0, 0).Ring], engine.Attachments);
        Assert.Equal(3u, side.WaitUsed(ring).Length);
        engine.Feed(new EngineOutcome.Died("CRASH: Power down"));
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task A_kick_before_driver_ok_starts_the_device_early()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);
        side.SetStatus(0, GuestSide.Acknowledge | GuestSide.Driver);
        SplitRingDriver ring = side.LayOut(0, 0);
        ring.AddBuffer([side.Readable(9, 9)]);

        side.Kick(0, 0); // no eventfd yet: the launcher sees the NOTIFY on the ring's address

        Assert.Equal(1, guest.Devices[0].Activations);
        Assert.Equal(2u, side.WaitUsed(ring).Length);
        engine.Feed(new EngineOutcome.Died("CRASH: Power down"));
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task Any_other_address_in_the_guest_is_an_early_console_string()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        engine.Memory!.Write(0x3000, "early hello\n\0ignored"u8);

        engine.NotifyAndWait(0x3000);

        byte[] printed = new byte[64];
        int n = FileIo.Read(guest.ConsoleOutput, printed);
        Assert.Equal("early hello\n", Encoding.ASCII.GetString(printed, 0, n));
        engine.Feed(new EngineOutcome.Died("CRASH: Power down"));
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task An_address_outside_the_guest_ends_the_launcher()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();

        engine.Feed(new EngineOutcome.Notify(engine.GuestLimit + 0x1000));

        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.Failed, result.ExitCode);
        Assert.Contains("bad NOTIFY", result.Message);
    }

    [Fact]
    public async Task A_dead_guest_ends_the_launcher_with_its_reason()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();

        engine.Feed(new EngineOutcome.Died("CRASH: Attempted to kill init!"));

        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.Failed, result.ExitCode);
        Assert.Equal("CRASH: Attempted to kill init!", result.Message);
        AwaitCondition(() => engine.Disposed && guest.Devices[0].Disposed, Patience);
    }

    [Fact]
    public async Task A_reboot_restarts_the_guest_afresh_with_the_same_configuration()
    {
        using var guest = new TestGuest();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine first = guest.WaitForBoot();
        var side = new GuestSide(first, TestGuest.MemoryBytes);
        side.Start(0);

        first.Feed(new EngineOutcome.Restart());
        ScriptedEngine second = guest.WaitForBoot(2);

        Assert.NotSame(first.Memory, second.Memory);
        Assert.True(first.Disposed);
        Assert.True(guest.Devices[0].Disposed);
        Assert.Equal(2, guest.Devices.Count);
        var secondSide = new GuestSide(second, TestGuest.MemoryBytes);
        Assert.Equal(42, second.Memory!.Read<byte>(secondSide.DescriptorAddress(0)));
        Assert.Equal(0, secondSide.Status(0));
        Assert.Equal(first.EntryPoint, second.EntryPoint);
        secondSide.Start(0);
        Assert.Equal(1, guest.Devices[1].Activations);

        second.Feed(new EngineOutcome.Died("CRASH: Power down"));
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task A_host_failure_in_a_device_ends_the_launcher_naming_the_device()
    {
        using var guest = new TestGuest(GuestErrorPolicy.RestartDevice);
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);
        side.Start(0);
        SplitRingDriver ring = side.LayOut(0, 0);
        ring.AddBuffer([side.Readable(EchoDevice.HostFailureMarker)]);

        side.Kick(0, 0);

        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.Failed, result.ExitCode);
        Assert.Equal("echo: echo backing store failed", result.Message);
    }

    [Fact]
    public async Task Kill_launcher_policy_ends_the_launcher_on_a_bad_ring()
    {
        using var guest = new TestGuest(GuestErrorPolicy.KillLauncher);
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);
        side.Start(0);
        SplitRingDriver ring = side.LayOut(0, 0);
        ring.PublishAvailable(200); // a head past the 8-entry ring

        side.Kick(0, 0);

        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.Failed, result.ExitCode);
        Assert.StartsWith("echo: guest error:", result.Message);
    }

    [Fact]
    public async Task Restart_device_policy_resets_the_device_then_escalates_after_max_restarts()
    {
        using var guest = new TestGuest(GuestErrorPolicy.RestartDevice, maxRestarts: 2);
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, default);
        ScriptedEngine engine = guest.WaitForBoot();
        var side = new GuestSide(engine, TestGuest.MemoryBytes);

        for (int restart = 1; restart <= 2; restart++)
        {
            SplitRingDriver bad = side.StartWithQueue(0, 0);
            bad.PublishAvailable(200);
            side.Kick(0, 0);
            bool seen = SpinWait.SpinUntil(() => (side.Status(0) & GuestSide.NeedsReset) != 0, Patience);
            Assert.True(seen, $"restart {restart}: status 0x{side.Status(0):x2}, exit {exit.Status}");
            Assert.False(exit.IsCompleted);

            // What a driver does on DEVICE_NEEDS_RESET: reset, then bring the device up again, and it works.
            side.SetStatus(0, 0);
            SplitRingDriver good = side.StartWithQueue(0, 0);
            good.AddBuffer([side.Readable(7)]);
            side.Kick(0, 0);
            Assert.Equal(1u, side.WaitUsed(good).Length);
            side.SetStatus(0, 0);
        }

        side.StartWithQueue(0, 0).PublishAvailable(200);
        side.Kick(0, 0);

        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.Failed, result.ExitCode);
        Assert.StartsWith("echo: guest error:", result.Message);
    }

    [Fact]
    public async Task Cancelling_stops_the_guest_cleanly()
    {
        using var guest = new TestGuest();
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, guest.Settings, guest.Environment, shutdown.Token);
        ScriptedEngine engine = guest.WaitForBoot();
        new GuestSide(engine, TestGuest.MemoryBytes).Start(0);

        shutdown.Cancel();

        LauncherExit result = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.PoweredOff, result.ExitCode);
        Assert.True(engine.Disposed);
        Assert.True(guest.Devices[0].Disposed);
    }
}
