using Akka.Actor;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Transports.VhostUser;
using Lguest.Host.Tests.RealGuest;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.CrashSurvival;

/// <summary>
/// Issue 10's "the same holds when supervision restarts a device": QEMU (vhost-user-blk, chardev reconnect=1) runs 32
/// O_DIRECT writers of checksummed chunks while guest errors on our queue thread make supervision restart the device
/// (guest-errors = restart-device), up to 20 times. Each restart drops the connection with a request held on the
/// queue thread and others just completed; QEMU reconnects and hands back the inflight region. The guest then reads
/// every acknowledged chunk back.
///
/// The back end runs in this process (the real VhostUserService, DeviceActor and queue actors, reached through
/// <see cref="GuestLauncher"/>), because a real Linux guest never breaks the ring rules: the guest error is injected by
/// <see cref="InflightFaultInjector"/> through the device factory every launcher is built with, not by any
/// configuration key.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class RestartDeviceUnderRealGuestTests(ITestOutputHelper output)
{
    private const int Writers = 32;
    private const long Sectors = Writers * 256L * 128;     // 256 chunks of 64 KiB per writer
    private const int Restarts = 20;
    private const int RestartsAtLeast = 10;
    private const int WritingSeconds = 50;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [RealGuestFact]
    public async Task A_real_guest_writing_at_depth_32_survives_twenty_device_restarts_by_supervision()
    {
        using var files = new KilledBackend((int)Sectors);      // only for its sparse disk, socket path and directory
        var injector = new InflightFaultInjector();
        ActorSystem system = ActorSystem.Create(
            "lguest-restart-device", ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(LauncherSettingsReader.Reference));
        using var shutdown = new CancellationTokenSource();
        try
        {
            // 25 restarts allowed in 10 minutes: the test's 20 are within the budget; the budget itself is
            // InflightRestartSpecs' and HostileLifecycleTests.Class7's subject.
            LauncherSettings settings = LauncherSettingsReader.Read(ConfigurationFactory.ParseString($$"""
                lguest {
                  engine = vhost-user
                  devices = [ { type = block, path = "{{files.Disk}}", socket = "{{files.Socket}}" } ]
                  supervision { guest-errors = restart-device, max-restarts = 25, restart-window = 10m }
                }
                """));
            var console = new FileDescriptor(0, ownsHandle: false);
            var environment = new GuestEnvironment(
                _ => throw new InvalidOperationException("vhost-user runs no engine"),
                device => injector.Wrap(DeviceFactory.Create(device, console, console, system.Log)),
                console,
                console);
            Task<LauncherExit> exit = GuestLauncher.RunAsync(system, settings, environment, shutdown.Token);
            Assert.True(SpinWait.SpinUntil(() => File.Exists(files.Socket) || exit.IsCompleted, Patience), "our back end did not listen");

            var writing = new TaskCompletionSource<DateTime>();
            var ioErrors = new List<string>();
            QemuGuest guest = new QemuGuest(await TestInitramfs.GetAsync())
                {
                    Reconnect = true,
                    Timeout = TimeSpan.FromMinutes(6),
                    Log = output,
                    OnConsoleLine = line =>
                    {
                        if (line.Contains("LGUEST-RECORDS started", StringComparison.Ordinal))
                        {
                            writing.TrySetResult(DateTime.UtcNow);
                        }
                        if (line.Contains("I/O error", StringComparison.Ordinal) || line.Contains("is not a head", StringComparison.Ordinal))
                        {
                            lock (ioErrors)
                            {
                                ioErrors.Add(line);
                            }
                        }
                    },
                }
                .Check("blk-records")
                .Param("records.writers", Writers)
                .Param("records.seconds", WritingSeconds)
                .VhostUserBlk(files.Socket);
            Task<GuestRun> running = guest.RunAsync();
            DateTime started = await writing.Task.WaitAsync(TimeSpan.FromMinutes(2));

            // Restart only a device QEMU is using: each time, wait until the newest ring has been served, let the
            // writers run a little, then arm; the fault fires on the next drain with enough requests waiting.
            var random = new Random(20);
            DateTime stopInjecting = started + TimeSpan.FromSeconds(WritingSeconds - 5);
            int handlersAtFault = 0;
            while (injector.Injected < Restarts && !running.IsCompleted && DateTime.UtcNow < stopInjecting)
            {
                Assert.True(
                    await EventuallyAsync(() => injector.Handlers > handlersAtFault && injector.DrainedBy == injector.Handlers || running.IsCompleted, Patience),
                    "QEMU did not reconnect after the device restart");
                TimeSpan served = DateTime.UtcNow - started;
                await Task.Delay(random.Next(100, 500));
                int injected = injector.Injected;
                injector.Arm(completeFirst: random.Next(0, 4));
                TimeSpan armed = DateTime.UtcNow - started;
                await EventuallyAsync(() => injector.Injected > injected || running.IsCompleted || DateTime.UtcNow > stopInjecting, Patience);
                handlersAtFault = injector.Handlers;
                output.WriteLine($"ring {handlersAtFault} served at {served.TotalSeconds:F1} s, armed at {armed.TotalSeconds:F1} s, fault {injector.Injected} at {(DateTime.UtcNow - started).TotalSeconds:F1} s");
            }
            injector.Disarm();

            GuestRun run = await running;
            string result = run.EnsureDone().Check("blk-records");
            output.WriteLine(
                $"restart-device: {injector.Injected} device restarts by supervision under the live guest; {injector.ResubmittingStarts} reconnection(s) " +
                $"resubmitted the request held when the fault hit; {injector.CompletedBeforeFaults} request(s) completed in a faulting batch before its fault; " +
                $"guest: blk-records {result}");
            Assert.StartsWith("ok ", result, StringComparison.Ordinal);
            Assert.Empty(ioErrors);
            Assert.True(injector.Injected >= RestartsAtLeast, $"only {injector.Injected} restarts happened while the guest wrote");
            Assert.Equal(injector.Injected, injector.ResubmittingStarts);

            // The launcher is still running, and serves the next front end.
            Assert.False(exit.IsCompleted, exit.IsCompleted ? $"the launcher ended: {exit.Result.Message}" : null);
            Assert.True(await Task.Run(() => AnswersAFrontEnd(files.Socket)).WaitAsync(Patience), "the back end did not serve a front end after the restarts");
            shutdown.Cancel();
            Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
        }
        finally
        {
            await shutdown.CancelAsync();
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>A new front end gets the device's features: the back end is up and taking connections.</summary>
    private static bool AnswersAFrontEnd(string socket)
    {
        using var frontEnd = new VhostUserFrontEnd(UnixSocket.Connect(socket));
        return (frontEnd.GetFeatures() & VhostUserFeatures.ProtocolFeatures) != 0;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }
}
