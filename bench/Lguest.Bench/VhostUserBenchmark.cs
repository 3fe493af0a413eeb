using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// The same block workloads through the same front end against our back end and qemu-storage-daemon, each a child
/// process serving the same pre-filled image in /tmp, one after the other in the same run. The peer runs twice:
/// as the real-guest tests start it (QEMU's default thread-pool AIO) and with aio=io_uring, its fastest engine
/// for page-cache I/O, so a lead over the default alone cannot flatter us. Each peer row's ratio is ours/that peer.
/// </summary>
internal static class VhostUserBenchmark
{
    private static readonly string?[] PeerAio = [null, "io_uring"];

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        var ours = Measure(BackEndProcess.StartOurs(images.Directory, [images.Main]), options, images, log);
        var peers = new List<(string Name, Dictionary<BlockWorkload, (BlockResult Result, double Rss)> Results)>();
        if (BackEndProcess.PeerAvailable && !options.NoPeer)
        {
            foreach (string? aio in PeerAio)
            {
                BackEndProcess peer = BackEndProcess.StartPeer(images.Directory, [images.Main], aio);
                string name = peer.Name;
                peers.Add((name, Measure(peer, options, images, log)));
            }
        }
        else if (!options.NoPeer)
        {
            log.WriteLine("qemu-storage-daemon is not installed: the peer rows are left out");
        }
        foreach (BlockWorkload workload in BlockWorkload.All)
        {
            (BlockResult us, double usRss) = ours[workload];
            yield return Row(workload, "ours", us, usRss);
            foreach ((string name, var results) in peers)
            {
                (BlockResult them, double rss) = results[workload];
                yield return Row(workload, name, them, rss) with
                {
                    Ratio = $"IOPS {us.Iops / them.Iops:0.00}x, CPU/req {CpuPerMillion(us) / CpuPerMillion(them):0.00}x",
                };
            }
        }
    }

    private static ResultRow Row(BlockWorkload workload, string target, BlockResult r, double rss) => new("vhost-user", workload.Name, target)
    {
        Iops = r.Iops,
        MegabytesPerSecond = r.Iops * workload.BlockSize / 1e6,
        P50Microseconds = r.P50Microseconds,
        P99Microseconds = r.P99Microseconds,
        CpuSecondsPerMillion = CpuPerMillion(r),
        RssMegabytes = rss,
    };

    private static double CpuPerMillion(BlockResult r) => r.CpuSeconds / r.Requests * 1e6;

    /// <summary>Runs every workload against <paramref name="started"/>, which it stops afterwards.</summary>
    private static Dictionary<BlockWorkload, (BlockResult, double)> Measure(BackEndProcess started, BenchOptions options, TestImages images, TextWriter log)
    {
        var results = new Dictionary<BlockWorkload, (BlockResult, double)>();
        using BackEndProcess backEnd = started;
        using var generator = new BlockLoadGenerator(backEnd.Sockets[0], (ulong)TestImages.MainBytes);
        generator.Verify(images.Main);
        var latencies = new List<long>(1 << 20);
        foreach (BlockWorkload workload in BlockWorkload.All)
        {
            // Warm-up, untimed: the JIT tiers up in both processes, and the page cache holds what is read.
            generator.Run(workload, options.MeasureFor / 4, latencies);
            ProcessStats before = backEnd.Stats();
            var clock = Stopwatch.StartNew();
            long requests = generator.Run(workload, options.MeasureFor, latencies);
            clock.Stop();
            ProcessStats after = backEnd.Stats();
            latencies.Sort();
            var result = new BlockResult(
                requests,
                clock.Elapsed,
                Percentile(latencies, 0.50),
                Percentile(latencies, 0.99),
                after.CpuSeconds - before.CpuSeconds,
                after.ContextSwitches - before.ContextSwitches);
            results[workload] = (result, backEnd.PeakRssMegabytes());
            log.WriteLine(
                $"{backEnd.Name,-30} {workload.Name,-18} {result.Iops,10:0} IOPS  back-end ctx switches/req {(double)result.ContextSwitches / requests:0.00}  threads {backEnd.Threads()}");
        }
        return results;
    }

    private static double Percentile(List<long> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))] * 1e6 / Stopwatch.Frequency;
}
