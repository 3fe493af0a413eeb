using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// The same block workloads through the same front end against our back end and qemu-storage-daemon, each a child
/// process serving the same pre-filled image in /tmp, one after the other in the same run.
/// </summary>
internal static class VhostUserBenchmark
{
    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        var ours = Measure("ours", dir => BackEndProcess.StartOurs(dir, [images.Main]), options, images, log);
        Dictionary<BlockWorkload, (BlockResult Result, double Rss)>? peer = null;
        if (BackEndProcess.PeerAvailable)
        {
            peer = Measure("qemu-storage-daemon", dir => BackEndProcess.StartPeer(dir, [images.Main]), options, images, log);
        }
        else
        {
            log.WriteLine("qemu-storage-daemon is not installed: the peer rows are left out");
        }
        foreach (BlockWorkload workload in BlockWorkload.All)
        {
            (BlockResult us, double usRss) = ours[workload];
            string ratio = "";
            if (peer is not null)
            {
                BlockResult them = peer[workload].Result;
                ratio = $"IOPS {us.Iops / them.Iops:0.00}x, CPU/req {CpuPerMillion(us) / CpuPerMillion(them):0.00}x";
            }
            yield return Row(workload, "ours", us, usRss) with { Ratio = ratio };
            if (peer is not null)
            {
                yield return Row(workload, "qemu-storage-daemon", peer[workload].Result, peer[workload].Rss);
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
        Ratio = "",
    };

    private static double CpuPerMillion(BlockResult r) => r.CpuSeconds / r.Requests * 1e6;

    private static Dictionary<BlockWorkload, (BlockResult, double)> Measure(
        string name, Func<string, BackEndProcess> start, BenchOptions options, TestImages images, TextWriter log)
    {
        var results = new Dictionary<BlockWorkload, (BlockResult, double)>();
        using BackEndProcess backEnd = start(images.Directory);
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
            log.WriteLine($"{name,-20} {workload.Name,-18} {result.Iops,10:0} IOPS  ctx switches/req {(double)result.ContextSwitches / requests:0.00}  threads {backEnd.Threads()}");
        }
        return results;
    }

    private static double Percentile(List<long> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))] * 1e6 / Stopwatch.Frequency;
}
