using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// The same block workloads through the same front end against our back end and qemu-storage-daemon, each a child
/// process serving the same pre-filled image in /tmp, one after the other in the same run. Ours runs with adaptive
/// polling off and on, with polling off and its io_uring write path on (and, with --previous, as built from an older
/// commit). The peer runs as the real-guest tests
/// start it (QEMU's default thread-pool AIO), with aio=io_uring, and in its fastest configuration, an iothread
/// (adaptive polling) with aio=io_uring, so a lead over a slow configuration cannot flatter us. Every back end
/// serves two queues, for the two-queue workload. Ratios are ours/that row: IOPS (higher is better for us) and CPU
/// per request (lower is better for us).
/// </summary>
internal static class VhostUserBenchmark
{
    /// <summary>QEMU's iothread default, so both back ends poll for the same longest window.</summary>
    private const int PollMaxNs = 32768;

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        int queues = BlockWorkload.MaxQueues;
        var ours = Measure(BackEndProcess.StartOurs(images.Directory, [images.Main], "ours, polling off", $"num-queues = {queues}"), options, images, log, queues);
        var polled = Measure(
            BackEndProcess.StartOurs(images.Directory, [images.Main], "ours, polling on", $"num-queues = {queues}, poll-max-ns = {PollMaxNs}"), options, images, log, queues);
        var others = new List<(string Name, Dictionary<BlockWorkload, (BlockResult Result, double Rss)> Results)>();
        // Writes through io_uring against the pwritev path in the same run (issue 11): it pays only with a free core.
        others.Add(("ours, io-uring on", Measure(
            BackEndProcess.StartOurs(images.Directory, [images.Main], "ours, io-uring on", $"num-queues = {queues}, io-uring = on"), options, images, log, queues)));
        if (options.PreviousHost is { } previous)
        {
            // The previous design serves one queue and knows no num-queues key.
            BackEndProcess started = BackEndProcess.StartOurs(images.Directory, [images.Main], "ours, previous commit", hostDll: previous);
            others.Add((started.Name, Measure(started, options, images, log, queues: 1)));
        }
        if (BackEndProcess.PeerAvailable && !options.NoPeer)
        {
            foreach ((string? aio, bool iothread) in ((string?, bool)[])[(null, false), ("io_uring", false), ("io_uring", true)])
            {
                BackEndProcess peer = BackEndProcess.StartPeer(images.Directory, [images.Main], aio, iothread, queues);
                others.Add((peer.Name, Measure(peer, options, images, log, queues)));
            }
        }
        else if (!options.NoPeer)
        {
            log.WriteLine("qemu-storage-daemon is not installed: the peer rows are left out");
        }
        foreach (BlockWorkload workload in BlockWorkload.All.Where(ours.ContainsKey))
        {
            (BlockResult off, double offRss) = ours[workload];
            (BlockResult on, double onRss) = polled[workload];
            yield return Row(workload, "ours, polling off", off, offRss);
            yield return Row(workload, "ours, polling on", on, onRss) with { Ratio = $"vs off: {Ratio(on, off)}" };
            foreach ((string name, var results) in others)
            {
                if (!results.TryGetValue(workload, out var measured))
                {
                    continue;
                }
                (BlockResult them, double rss) = measured;
                yield return Row(workload, name, them, rss) with { Ratio = $"off {Ratio(off, them)}; on {Ratio(on, them)}" };
            }
        }
    }

    private static string Ratio(BlockResult us, BlockResult them)
        => $"IOPS {us.Iops / them.Iops:0.00}x, CPU/req {CpuPerMillion(us) / CpuPerMillion(them):0.00}x";

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

    /// <summary>Runs every workload that needs at most <paramref name="queues"/> rings against <paramref name="started"/>, which it stops afterwards.</summary>
    private static Dictionary<BlockWorkload, (BlockResult, double)> Measure(BackEndProcess started, BenchOptions options, TestImages images, TextWriter log, int queues)
    {
        var results = new Dictionary<BlockWorkload, (BlockResult, double)>();
        using BackEndProcess backEnd = started;
        using var generator = new BlockLoadGenerator(backEnd.Sockets[0], (ulong)TestImages.MainBytes, queues);
        generator.Verify(images.Main);
        var latencies = new List<long>(1 << 20);
        foreach (BlockWorkload workload in BlockWorkload.All.Where(w => w.Queues <= queues && (options.Workload is null || w.Name.Contains(options.Workload, StringComparison.Ordinal))))
        {
            using SyscallCounter? syscalls = options.Syscalls && backEnd.Name.StartsWith("ours", StringComparison.Ordinal) ? SyscallCounter.Attach(backEnd.Pid, log) : null;
            // Warm-up, untimed: the JIT tiers up in both processes, and the page cache holds what is read.
            generator.Run(workload, options.MeasureFor / 4, latencies);
            syscalls?.Enable();
            ProcessStats before = backEnd.Stats();
            var clock = Stopwatch.StartNew();
            long requests = generator.Run(workload, options.MeasureFor, latencies);
            clock.Stop();
            ProcessStats after = backEnd.Stats();
            syscalls?.Disable();
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
                $"{backEnd.Name,-40} {workload.Name,-26} {result.Iops,10:0} IOPS  p50 {result.P50Microseconds:0.0} µs  CPU/Mreq {CpuPerMillion(result):0.00} s  back-end ctx switches/req {(double)result.ContextSwitches / requests:0.00}  threads {backEnd.Threads()}");
            if (syscalls is not null)
            {
                log.WriteLine($"{"",-40} {"",-26} {syscalls.PerRequest(requests)}");
            }
        }
        return results;
    }

    private static double Percentile(List<long> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))] * 1e6 / Stopwatch.Frequency;
}
