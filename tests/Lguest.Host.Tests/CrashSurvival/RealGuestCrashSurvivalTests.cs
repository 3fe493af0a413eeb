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
            .VhostUserBlk(backend.Socket);
        Task<GuestRun> running = guest.RunAsync();
        await writing.Task.WaitAsync(TimeSpan.FromMinutes(2));

        var random = new Random(10);
        int kills = 0;
        for (; kills < Kills && !running.IsCompleted; kills++)
        {
            // Kill only a back end QEMU is using: wait for its reconnection, then let the writers run a little.
            int served = kills + 1;
            Assert.True(await EventuallyAsync(() => backend.Connections >= served || running.IsCompleted, TimeSpan.FromSeconds(60)), $"QEMU did not reconnect:\n{backend.Log}");
            await Task.Delay(random.Next(300, 1500));
            backend.Kill();
            backend.Start();
        }

        GuestRun run = (await running).EnsureDone();
        string result = run.Check("blk-records");
        int resubmits = backend.Log.Split('\n').Count(l => l.Contains("a previous back end took", StringComparison.Ordinal));
        output.WriteLine($"our back end: {kills} kills; guest: blk-records {result}; {resubmits} restart(s) resubmitted in-flight requests");
        Assert.Equal(Kills, kills);
        Assert.StartsWith("ok ", result, StringComparison.Ordinal);
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
