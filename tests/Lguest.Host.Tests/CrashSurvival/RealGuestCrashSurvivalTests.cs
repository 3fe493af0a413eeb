using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.CrashSurvival;

/// <summary>
/// Issue 10's crash survival with a real kernel: QEMU (vhost-user-blk, chardev reconnect=1) runs 32 writers doing
/// O_DIRECT writes while the test SIGKILLs our back end and starts it again 20 times; the guest then reads every
/// acknowledged chunk back and compares its checksum.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class RealGuestCrashSurvivalTests(ITestOutputHelper output)
{
    private const int Writers = 32;
    private const long Sectors = Writers * 256L * 128;     // 256 chunks of 64 KiB per writer
    private const int Kills = 20;

    [RealGuestFact]
    public async Task A_real_guest_writing_at_depth_32_survives_twenty_kills_of_our_back_end()
    {
        using var backend = new KilledBackend((int)Sectors);
        backend.Start();
        int kills = 0;
        string result = await RunWhileKillingAsync(
            backend.Socket,
            () => backend.Connections >= kills + 1,
            () =>
            {
                backend.Kill();
                backend.Start();
                kills++;
            });
        int resubmits = backend.Log.Split('\n').Count(l => l.Contains("a previous back end took", StringComparison.Ordinal));
        int tracked = backend.Log.Split('\n').Count(l => l.Contains("requests in flight are tracked", StringComparison.Ordinal));
        output.WriteLine($"our back end: {kills} kills; guest: blk-records {result}; {tracked} connection(s) with an inflight region, {resubmits} restart(s) resubmitted in-flight requests");
        Assert.Equal(Kills, kills);
        Assert.StartsWith("ok ", result, StringComparison.Ordinal);
        Assert.True(tracked > Kills, $"QEMU did not use the inflight region on every connection:\n{backend.Log}");
    }

    /// <summary>The same run against qemu-storage-daemon, for comparison; its outcome is printed, and it must survive too.</summary>
    [RealGuestFact]
    public async Task The_same_run_against_qemu_storage_daemon()
    {
        using var files = new KilledBackend((int)Sectors);       // only for its sparse disk and directory
        using var daemon = new KilledStorageDaemon(files.Disk, Path.Combine(files.Directory, "qsd.sock"));
        daemon.Start();
        int kills = 0;
        bool served = false;
        string result = await RunWhileKillingAsync(
            daemon.Socket,
            () => served || (served = daemon.Serving),
            () =>
            {
                daemon.Kill();
                daemon.Start();
                served = false;
                kills++;
            });
        output.WriteLine($"qemu-storage-daemon: {kills} kills; guest: blk-records {result}");
        Assert.Equal(Kills, kills);
        Assert.StartsWith("ok ", result, StringComparison.Ordinal);
    }

    /// <summary>
    /// Boots the guest on <paramref name="socket"/>, and once its writers run, kills and restarts the back end
    /// <see cref="Kills"/> times, each time only after QEMU is served again (<paramref name="serving"/>). Returns the
    /// guest's blk-records line.
    /// </summary>
    private async Task<string> RunWhileKillingAsync(string socket, Func<bool> serving, Action killAndRestart)
    {
        var writing = new TaskCompletionSource();
        QemuGuest guest = new QemuGuest(await TestInitramfs.GetAsync())
            {
                Reconnect = true,
                Timeout = TimeSpan.FromMinutes(6),
                Log = output,
                OnConsoleLine = line =>
                {
                    if (line.Contains("LGUEST-RECORDS started", StringComparison.Ordinal))
                    {
                        writing.TrySetResult();
                    }
                },
            }
            .Check("blk-records")
            .Param("records.writers", Writers)
            .Param("records.seconds", 60)
            .VhostUserBlk(socket);
        Task<GuestRun> running = guest.RunAsync();
        await writing.Task.WaitAsync(TimeSpan.FromMinutes(2));

        var random = new Random(10);
        for (int kill = 0; kill < Kills && !running.IsCompleted; kill++)
        {
            // Kill only a back end QEMU is using: wait for its reconnection, then let the writers run a little.
            Assert.True(await EventuallyAsync(() => serving() || running.IsCompleted, TimeSpan.FromSeconds(60)), "QEMU did not reconnect");
            await Task.Delay(random.Next(300, 1500));
            killAndRestart();
        }
        return (await running).EnsureDone().Check("blk-records");
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
