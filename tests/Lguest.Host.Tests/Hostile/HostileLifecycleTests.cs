using Xunit.Abstractions;
using static Lguest.Host.Tests.Hostile.VhostUserAttacker;

namespace Lguest.Host.Tests.Hostile;

/// <summary>
/// What outlives one attack: the restart budget across connections, a thousand connect-fault-disconnect cycles,
/// the device's own host resources failing (a truncated disk file, a bridge that does not exist).
/// </summary>
public sealed class HostileLifecycleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(30);

    [Fact]
    public void Class7_the_restart_budget_belongs_to_the_device_across_connections()
    {
        using var backend = new HostileBackend("guest-errors = restart-device, max-restarts = 2, restart-window = 10m");
        for (int connection = 1; connection <= 3; connection++)
        {
            using VhostUserAttacker attacker = Connect(backend.Socket);
            using var ring = new AttackerRing();
            attacker.Handshake();
            ring.Start(attacker);
            ring.BreakAvailableIndex();
            Assert.True(attacker.HangsUpWithin(Prompt), $"connection {connection}: a broken ring did not cost the connection");
            if (connection < 3)
            {
                backend.AssertServesNextFrontEnd();
            }
        }
        // Reconnecting did not refill the budget: the third fault within the window is one too many, and the policy
        // ends the launcher with one line, exit 1, not an unhandled AskTimeout.
        Assert.True(backend.WaitForExit(Prompt), "the third fault within the window was forgiven");
        output.WriteLine(backend.Stderr);
        Assert.Equal(1, backend.ExitCode);
        Assert.Contains("2 restarts within", backend.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", backend.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_thousand_connect_fault_disconnect_cycles_leave_threads_fds_and_rss_at_baseline()
    {
        using var backend = new HostileBackend();
        for (int i = 0; i < 20; i++)
        {
            Cycle(backend, i);
        }
        Thread.Sleep(TimeSpan.FromSeconds(1));
        (int threads, int fds, long rss) = (backend.Threads, backend.OpenFds, backend.RssBytes);

        int CycleCount = int.Parse(Environment.GetEnvironmentVariable("HOSTILE_CYCLES") ?? "1000", System.Globalization.CultureInfo.InvariantCulture);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < CycleCount; i++)
        {
            try
            {
                Cycle(backend, i);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"cycle {i} failed:\n{backend.Stderr[^Math.Min(4000, backend.Stderr.Length)..]}", e);
            }
        }
        clock.Stop();

        bool settled = HostileBackend.WaitUntil(() => backend.Threads <= threads + 1 && backend.OpenFds <= fds + 1, Prompt);
        long rssAfter = backend.RssBytes;
        output.WriteLine($"maps of attacker memory still present: {File.ReadLines($"/proc/{backend.Pid}/maps").Count(l => l.Contains("attacker-ram", StringComparison.Ordinal))}");
        output.WriteLine($"{CycleCount} cycles in {clock.Elapsed.TotalSeconds:0.0} s: threads {threads} -> {backend.Threads}, fds {fds} -> {backend.OpenFds}, RSS {rss >> 20} MiB -> {rssAfter >> 20} MiB");
        Assert.True(settled, $"threads {threads} -> {backend.Threads}, fds {fds} -> {backend.OpenFds}");
        Assert.True(rssAfter - rss < 100L << 20, $"RSS grew by {(rssAfter - rss) >> 20} MiB over 1000 cycles");
        backend.AssertServesNextFrontEnd();
    }

    [Fact]
    public void A_backing_file_truncated_under_a_running_ring_is_logged_and_answered_with_ioerr()
    {
        using var backend = new HostileBackend();
        using VhostUserAttacker attacker = Connect(backend.Socket);
        using var ring = new AttackerRing();
        attacker.Handshake();
        ring.Start(attacker);
        ring.SubmitRead(1000);
        Assert.Equal((byte)0, ring.WaitUsed(1, Prompt));

        File.WriteAllBytes(backend.Disk, new byte[512]); // the file shrinks to one sector under the running device
        ring.SubmitRead(1000);
        Assert.Equal((byte)1, ring.WaitUsed(2, Prompt)); // VIRTIO_BLK_S_IOERR
        Assert.True(HostileBackend.WaitUntil(() => backend.Stderr.Contains("truncated", StringComparison.Ordinal), Prompt), backend.Stderr);
        Assert.False(backend.HasExited);
    }

    [Fact]
    public async Task A_device_whose_host_resource_fails_at_start_exits_1_with_one_line()
    {
        string directory = Path.Combine(Path.GetTempPath(), "lguest-hostile-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            string bridge = "nobr" + Guid.NewGuid().ToString("N")[..8];
            string config = Path.Combine(directory, "net.hocon");
            File.WriteAllText(config, $$"""
                lguest {
                  engine = vhost-user
                  devices = [ { type = net, bridge = "{{bridge}}", socket = "{{Path.Combine(directory, "net.sock")}}" } ]
                }
                """);
            HostProcess.Result result = await HostProcess.RunAsync("--config", config);
            Assert.Equal(1, result.ExitCode);
            Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
            Assert.Equal($"lguest: device 1 ({Path.Combine(directory, "net.sock")}): net: bridge {bridge} does not exist", result.StderrLines[^1]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// One connection that breaks something and goes: bad framing (hung up on), unsafe memory or a bad kick fd
    /// (refused through REPLY_ACK), or a broken ring (hung up on), or nothing at all.
    /// </summary>
    private static void Cycle(HostileBackend backend, int i)
    {
        using VhostUserAttacker attacker = Connect(backend.Socket);
        switch (i % 4)
        {
            case 0:
                attacker.SendRaw([1, 0, 0, 0, 0x3, 0, 0, 0, 0, 0, 0, 0]); // version 3
                Assert.True(attacker.HangsUpWithin(Prompt), $"cycle {i}: bad framing was not hung up on");
                break;
            case 1:
                using (var unsealed = new AttackerRing(sealSize: false))
                {
                    attacker.Handshake();
                    Assert.NotEqual(0UL, attacker.Ack(SetMemTable, unsealed.MemoryTable, unsealed.Memory));
                }
                break;
            case 2:
                attacker.Handshake();
                using (var ring = new AttackerRing())
                {
                    Assert.Equal(0UL, attacker.Ack(SetMemTable, ring.MemoryTable, ring.Memory));
                    Assert.Equal(0UL, attacker.Ack(SetVringNum, State(0, AttackerRing.Size)));
                    Assert.Equal(0UL, attacker.Ack(SetVringAddr, VringAddress(0, AttackerRing.UserBase, AttackerRing.UserBase + 0x2000, AttackerRing.UserBase + 0x1000)));
                    Assert.NotEqual(0UL, attacker.Ack(SetVringKick, U64(0), ring.Memory));
                }
                break;
            default:
                if (i % 40 == 3)
                {
                    using var ring = new AttackerRing();
                    attacker.Handshake();
                    ring.Start(attacker);
                    ring.BreakAvailableIndex();
                    Assert.True(attacker.HangsUpWithin(Prompt), $"cycle {i}: a broken ring was not hung up on");
                }
                break;
        }
    }
}
