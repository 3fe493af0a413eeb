using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// The same block workloads through the same front end against our back end and qemu-storage-daemon, each a child
/// process serving its own copy of the same pre-filled image in /tmp. Ours runs with adaptive polling off and on,
/// with polling off and its io_uring write path on (and, with --previous, as built from an older commit). The peer
/// runs as the real-guest tests start it (QEMU's default thread-pool AIO), with aio=io_uring, and in its fastest
/// configuration, an iothread (adaptive polling) with aio=io_uring, so a lead over a slow configuration cannot
/// flatter us. Every back end serves two queues, for the two-queue workload. Ratios are ours/that row: IOPS (higher
/// is better for us) and CPU per request (lower is better for us).
/// <para>
/// On a small VM the queue-depth-1 latency follows host state that drifts over minutes (what waking a halted vCPU
/// costs), so measuring back end after back end would hand whoever ran first a better host. Instead every workload
/// is measured on every back end in turn, and that cycle is repeated R times, each round (and each workload) starting
/// at a different back end; a row is the median of its R windows. All back ends run for the whole suite rather than
/// being restarted per window or per workload: a restart costs a .NET start-up and sends the JIT back to tier 0.
/// Between its windows each back end is frozen with SIGSTOP: an idle connected back end of ours still spins a little
/// (about 25 ms CPU per s, measured here before freezing), which would tax the back end being measured. The CPU
/// the others burn during each window is still measured and logged, to show the freeze holds.
/// </para>
/// </summary>
internal static class VhostUserBenchmark
{
    /// <summary>QEMU's iothread default, so both back ends poll for the same longest window.</summary>
    private const int PollMaxNs = 32768;

    private const string PollingOff = "ours, polling off";
    private const string PollingOn = "ours, polling on";

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        var suite = Stopwatch.StartNew();
        int rounds = options.Quick ? 1 : 3;
        // Three rounds in about 1.5x the time one 3 s window per pair took, warm-ups included.
        TimeSpan window = options.Quick ? options.MeasureFor : options.MeasureFor / 2;
        var targets = new List<VhostUserTarget>();
        var rows = new List<ResultRow>();
        try
        {
            StartAll(options, images, log, targets);
            log.WriteLine($"vhost-user: {targets.Count} back ends interleaved, {rounds} round(s) of {window.TotalSeconds:0.##} s windows (warm-up {window.TotalSeconds / 4:0.##} s each); rows are medians");
            var latencies = new List<long>(1 << 20);
            int workloads = 0;
            foreach (BlockWorkload workload in BlockWorkload.All.Where(w => options.Workload is null || w.Name.Contains(options.Workload, StringComparison.Ordinal)))
            {
                workloads++;
                List<VhostUserTarget> serving = [.. targets.Where(t => t.Serves(workload))];
                serving.ForEach(t => t.StartWorkload());
                for (int round = 0; round < rounds; round++)
                {
                    // Each round, and each workload, starts at a different back end, so none always goes first or right
                    // after the same one; with one round (--quick) the lead still moves from workload to workload.
                    int first = ((round * serving.Count / rounds) + workloads - 1) % serving.Count;
                    foreach (VhostUserTarget target in serving.Skip(first).Concat(serving.Take(first)))
                    {
                        target.AddWindow(MeasureWindow(target, serving, workload, window, latencies, options, log));
                    }
                }
                rows.AddRange(Rows(workload, serving, log));
            }
            foreach (VhostUserTarget target in targets)
            {
                (double cpu, double wall) = target.Idle;
                log.WriteLine($"{target.Name,-40} idle while the others were measured: {(wall > 0 ? cpu / wall * 1000 : 0):0.0} ms CPU per s");
            }
        }
        finally
        {
            targets.ForEach(t => t.Dispose());
        }
        log.WriteLine($"vhost-user suite took {suite.Elapsed.TotalSeconds:0} s");
        return rows;
    }

    private static void StartAll(BenchOptions options, TestImages images, TextWriter log, List<VhostUserTarget> targets)
    {
        int queues = BlockWorkload.MaxQueues;
        targets.Add(VhostUserTarget.Start(images, "off", queues, image => BackEndProcess.StartOurs(images.Directory, [image], PollingOff, $"num-queues = {queues}")));
        targets.Add(VhostUserTarget.Start(images, "on", queues,
            image => BackEndProcess.StartOurs(images.Directory, [image], PollingOn, $"num-queues = {queues}, poll-max-ns = {PollMaxNs}")));
        // Writes through io_uring against the pwritev path in the same run (issue 11): it pays only with a free core.
        targets.Add(VhostUserTarget.Start(images, "uring", queues,
            image => BackEndProcess.StartOurs(images.Directory, [image], "ours, io-uring on", $"num-queues = {queues}, io-uring = on")));
        if (options.PreviousHost is { } previous)
        {
            // The previous design serves one queue and knows no num-queues key.
            targets.Add(VhostUserTarget.Start(images, "previous", 1,
                image => BackEndProcess.StartOurs(images.Directory, [image], "ours, previous commit", hostDll: previous)));
        }
        if (BackEndProcess.PeerAvailable && !options.NoPeer)
        {
            foreach ((string? aio, bool iothread) in ((string?, bool)[])[(null, false), ("io_uring", false), ("io_uring", true)])
            {
                targets.Add(VhostUserTarget.Start(images, $"qsd{(iothread ? "-io" : "")}{aio}", queues,
                    image => BackEndProcess.StartPeer(images.Directory, [image], aio, iothread, queues)));
            }
        }
        else if (!options.NoPeer)
        {
            log.WriteLine("qemu-storage-daemon is not installed: the peer rows are left out");
        }
    }

    /// <summary>One untimed warm-up and one timed window of <paramref name="workload"/> on <paramref name="target"/>; the others' CPU meanwhile is charged to their idle account.</summary>
    private static BlockResult MeasureWindow(
        VhostUserTarget target, List<VhostUserTarget> all, BlockWorkload workload, TimeSpan window, List<long> latencies, BenchOptions options, TextWriter log)
    {
        BackEndProcess backEnd = target.Process;
        target.Thaw();
        try
        {
            return MeasureThawed(target, all, workload, window, latencies, options, log);
        }
        finally
        {
            target.Freeze();
        }
    }

    private static BlockResult MeasureThawed(
        VhostUserTarget target, List<VhostUserTarget> all, BlockWorkload workload, TimeSpan window, List<long> latencies, BenchOptions options, TextWriter log)
    {
        BackEndProcess backEnd = target.Process;
        using SyscallCounter? syscalls = options.Syscalls && backEnd.Name.StartsWith("ours", StringComparison.Ordinal) ? SyscallCounter.Attach(backEnd.Pid, log) : null;
        // Warm-up, untimed: the JIT tiers up in both processes, the page cache holds what is read, and the host
        // wakes up to this pair of processes after the last window ran another pair.
        target.Generator.Run(workload, window / 4, latencies);
        syscalls?.Enable();
        ProcessStats[] before = [.. all.Select(t => t.Process.Stats())];
        var clock = Stopwatch.StartNew();
        long requests = target.Generator.Run(workload, window, latencies);
        clock.Stop();
        ProcessStats[] after = [.. all.Select(t => t.Process.Stats())];
        syscalls?.Disable();
        int self = all.IndexOf(target);
        for (int i = 0; i < all.Count; i++)
        {
            if (i != self)
            {
                all[i].AddIdle(after[i].CpuSeconds - before[i].CpuSeconds, clock.Elapsed.TotalSeconds);
            }
        }
        latencies.Sort();
        if (syscalls is not null)
        {
            log.WriteLine($"{backEnd.Name,-40} {workload.Name,-26} {syscalls.PerRequest(requests)}");
        }
        return new BlockResult(
            requests,
            clock.Elapsed,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            after[self].CpuSeconds - before[self].CpuSeconds,
            after[self].ContextSwitches - before[self].ContextSwitches);
    }

    private static IEnumerable<ResultRow> Rows(BlockWorkload workload, List<VhostUserTarget> serving, TextWriter log)
    {
        var medians = new List<(string Name, BlockWindows Result, double Rss)>();
        foreach (VhostUserTarget target in serving)
        {
            var m = BlockWindows.Of(target.Windows);
            medians.Add((target.Name, m, target.Process.PeakRssMegabytes()));
            log.WriteLine(
                $"{target.Name,-40} {workload.Name,-26} {m.Iops,10:0} IOPS ({m.IopsSpread.Min:0}-{m.IopsSpread.Max:0})  p50 {m.P50Microseconds:0.0} µs ({m.P50Spread.Min:0.0}-{m.P50Spread.Max:0.0})  p99 {m.P99Microseconds:0.0} µs  CPU/Mreq {m.CpuSecondsPerMillion:0.00} s  back-end ctx switches/req {m.ContextSwitchesPerRequest:0.00}  threads {target.Process.Threads()}");
        }
        BlockWindows? off = medians.Find(m => m.Name == PollingOff).Result;
        BlockWindows? on = medians.Find(m => m.Name == PollingOn).Result;
        foreach ((string name, BlockWindows result, double rss) in medians)
        {
            ResultRow row = Row(workload, name, result, rss);
            if (name == PollingOn && off is not null)
            {
                row = row with { Ratio = $"vs off: {Ratio(result, off)}" };
            }
            else if (name != PollingOff && off is not null && on is not null)
            {
                row = row with { Ratio = $"off {Ratio(off, result)}; on {Ratio(on, result)}" };
            }
            yield return row;
        }
    }

    private static string Ratio(BlockWindows us, BlockWindows them)
        => $"IOPS {us.Iops / them.Iops:0.00}x, CPU/req {us.CpuSecondsPerMillion / them.CpuSecondsPerMillion:0.00}x";

    private static ResultRow Row(BlockWorkload workload, string target, BlockWindows r, double rss) => new("vhost-user", workload.Name, target)
    {
        Iops = r.Iops,
        MegabytesPerSecond = r.Iops * workload.BlockSize / 1e6,
        P50Microseconds = r.P50Microseconds,
        P99Microseconds = r.P99Microseconds,
        CpuSecondsPerMillion = r.CpuSecondsPerMillion,
        RssMegabytes = rss,
    };

    private static double Percentile(List<long> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))] * 1e6 / Stopwatch.Frequency;
}
