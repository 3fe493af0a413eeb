using System.Diagnostics;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Bench;

/// <summary>
/// Start-up time to listening sockets and peak RSS of an idle back end serving 1 and 16 block devices: ours as a
/// user runs it (the ReadyToRun build of `dotnet build -c Release`), against qemu-storage-daemon with as many
/// exports, and the floor: a bare .NET process that prints one line and idles. With --previous, an older build of
/// Lguest.Host.dll is measured the same way, for a before/after in one run. With one device, separate starts also
/// time the first served reply: a front end that connects the moment the socket exists and sends GET_FEATURES,
/// which is what QEMU started right after the back end sees (a socket that listens before the back end can answer
/// moves the wait, it does not remove it).
/// </summary>
internal static class FootprintBenchmark
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Let start-up finish what it does after the sockets appear (the rest of the actor system, JIT) before reading the peak.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Idle means quiet: less than this much CPU over <see cref="QuietWindow"/>. Our sockets listen before the actor
    /// system exists, so a fixed wait after the socket could read the peak before start-up has finished.
    /// </summary>
    private static readonly TimeSpan QuietCpu = TimeSpan.FromMilliseconds(10);

    private static readonly TimeSpan QuietWindow = TimeSpan.FromMilliseconds(250);

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        string? launcher = ReleaseBuildOfLauncher();
        log.WriteLine($"footprint: ours is {launcher ?? "the copy next to the runner (no Release build of Lguest.Host found)"}");
        // One start says little on a shared machine: each figure is the median of several starts.
        int starts = options.Quick ? 1 : 5;
        Sample? single = null;
        foreach (int devices in (int[])[1, 16])
        {
            IReadOnlyList<string> files = images.Sparse(devices);
            Func<BackEndProcess> startOurs = () => BackEndProcess.StartOurs(images.Directory, files, hostDll: launcher);
            Func<BackEndProcess>? startPrevious = options.PreviousHost is { } dll
                ? () => BackEndProcess.StartOurs(images.Directory, files, name: "previous", hostDll: dll)
                : null;
            Func<BackEndProcess>? startPeer = BackEndProcess.PeerAvailable && !options.NoPeer
                ? () => BackEndProcess.StartPeer(images.Directory, files)
                : null;
            Func<BackEndProcess>?[] backEnds = [startOurs, startPrevious, startPeer];
            List<Sample>[] idle = InTurn(starts, backEnds, Measure);
            Sample ours = Median(idle[0]);
            single ??= ours;
            Sample? previous = idle[1].Count > 0 ? Median(idle[1]) : null;
            Sample? peer = idle[2].Count > 0 ? Median(idle[2]) : null;
            List<double>[] replies = devices == 1 ? InTurn(starts, backEnds, MeasureFirstReply) : [[], [], []];
            (double? oursReply, double? previousReply, double? peerReply) = (MedianOrNull(replies[0]), MedianOrNull(replies[1]), MedianOrNull(replies[2]));
            string name = $"{devices} blk device{(devices == 1 ? "" : "s")}, idle";
            log.WriteLine($"footprint {name}: ours {ours.Threads} threads, {ours.CpuMilliseconds:0} ms CPU to the socket; peer {peer?.Threads} threads, {peer?.CpuMilliseconds:0} ms CPU");
            string ratio = peer is { } p ? $"RSS {ours.Rss / p.Rss:0.0}x, start {ours.Milliseconds / p.Milliseconds:0.0}x" : "";
            yield return new ResultRow("footprint", name, "ours")
            {
                StartMilliseconds = ours.Milliseconds, FirstReplyMilliseconds = oursReply, RssMegabytes = ours.Rss,
                Ratio = $"CPU to the socket {ours.CpuMilliseconds:0} ms",
            };
            if (previous is { } before)
            {
                yield return new ResultRow("footprint", name, "previous")
                {
                    StartMilliseconds = before.Milliseconds, FirstReplyMilliseconds = previousReply, RssMegabytes = before.Rss,
                    Ratio = $"CPU to the socket {before.CpuMilliseconds:0} ms",
                };
            }
            if (peer is { } q)
            {
                // On the peer's row, as in the vhost-user suite: ours/this peer.
                yield return new ResultRow("footprint", name, "qemu-storage-daemon")
                {
                    StartMilliseconds = q.Milliseconds, FirstReplyMilliseconds = peerReply, RssMegabytes = q.Rss,
                    Ratio = ratio + (oursReply is { } r && peerReply is { } pr ? $", first reply {r / pr:0.0}x" : ""),
                };
            }
        }

        Sample floor = Median(starts, MeasureFloor);
        log.WriteLine($"footprint floor: {floor.Threads} threads");
        yield return new ResultRow("footprint", "bare .NET process, idle", "floor (hello world)")
        {
            StartMilliseconds = floor.Milliseconds,
            RssMegabytes = floor.Rss,
            Ratio = single is { } s ? $"ours (1 device): RSS {s.Rss / floor.Rss:0.0}x, start {s.Milliseconds / floor.Milliseconds:0.0}x" : "",
        };
    }

    /// <summary>Start-up (wall and the process's own CPU, to its socket or first line), then peak RSS and threads once idle.</summary>
    private readonly record struct Sample(double Milliseconds, double CpuMilliseconds, double Rss, long Threads);

    /// <summary>Each figure's median over <paramref name="starts"/> fresh processes.</summary>
    private static Sample Median(int starts, Func<Sample> measure) => Median([.. Enumerable.Range(0, starts).Select(_ => measure())]);

    private static Sample Median(IReadOnlyList<Sample> samples)
    {
        static double Mid(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
        return new Sample(
            Mid(samples.Select(x => x.Milliseconds)), Mid(samples.Select(x => x.CpuMilliseconds)), Mid(samples.Select(x => x.Rss)),
            (long)Mid(samples.Select(x => (double)x.Threads)));
    }

    /// <summary>
    /// <paramref name="starts"/> measurements of each back end (none where it is null), taken in turn: one back end's
    /// starts all in a row would each see a different stretch of a shared machine's load.
    /// </summary>
    private static List<T>[] InTurn<T>(int starts, Func<BackEndProcess>?[] backEnds, Func<Func<BackEndProcess>, T> measure)
    {
        List<T>[] samples = [.. backEnds.Select(_ => new List<T>())];
        for (int i = 0; i < starts; i++)
        {
            for (int b = 0; b < backEnds.Length; b++)
            {
                if (backEnds[b] is { } start)
                {
                    samples[b].Add(measure(start));
                }
            }
        }
        return samples;
    }

    private static double? MedianOrNull(List<double> values) => values.Count == 0 ? null : values.Order().ElementAt(values.Count / 2);

    /// <summary>
    /// From Process.Start to the answer to GET_FEATURES sent the moment the socket appeared (the start-up poll's
    /// clock, carried on by a second one). The whole exchange runs on another thread so that a back end that never
    /// answers fails the run instead of hanging it: disposing it closes the socket under the read.
    /// </summary>
    private static double MeasureFirstReply(Func<BackEndProcess> start)
    {
        using BackEndProcess backEnd = start();
        var sinceSocket = Stopwatch.StartNew();
        Task<double> reply = Task.Run(() =>
        {
            using var frontEnd = new VhostUserFrontEnd(UnixSocket.Connect(backEnd.Sockets[0]));
            _ = frontEnd.GetFeatures();
            return backEnd.StartUp.TotalMilliseconds + sinceSocket.Elapsed.TotalMilliseconds;
        });
        if (!reply.Wait(StartTimeout))
        {
            throw new InvalidOperationException($"{backEnd.Name} did not answer GET_FEATURES within {StartTimeout}");
        }
        return reply.Result;
    }

    private static Sample Measure(Func<BackEndProcess> start)
    {
        using BackEndProcess backEnd = start();
        SettleUntilQuiet(backEnd.Pid);
        return new Sample(backEnd.StartUp.TotalMilliseconds, backEnd.StartUpCpu.TotalMilliseconds, backEnd.PeakRssMegabytes(), backEnd.Threads());
    }

    /// <summary>The settle time, then until a window passes with (almost) no CPU used, or <see cref="StartTimeout"/>.</summary>
    private static void SettleUntilQuiet(int pid)
    {
        Thread.Sleep(Settle);
        var waited = Stopwatch.StartNew();
        double before = ProcessStats.Read(pid).CpuSeconds;
        while (waited.Elapsed < StartTimeout)
        {
            Thread.Sleep(QuietWindow);
            double now = ProcessStats.Read(pid).CpuSeconds;
            if (now - before < QuietCpu.TotalSeconds)
            {
                return;
            }
            before = now;
        }
    }

    /// <summary>From Process.Start to the floor's first line on stdout (its "listening"), then its peak RSS as for ours.</summary>
    private static Sample MeasureFloor()
    {
        string floor = Path.Combine(AppContext.BaseDirectory, "Lguest.Bench.Floor.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [floor])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{floor} did not start");
        try
        {
            Task<string?> ready = process.StandardOutput.ReadLineAsync();
            if (!ready.Wait(StartTimeout) || ready.Result != "ready")
            {
                throw new InvalidOperationException($"{floor} did not say it was ready");
            }
            double milliseconds = clock.Elapsed.TotalMilliseconds;
            double cpu = ProcessStats.Read(process.Id).CpuSeconds * 1000;
            SettleUntilQuiet(process.Id);
            return new Sample(milliseconds, cpu, ProcessStats.PeakRssMegabytes(process.Id), ProcessStats.Threads(process.Id));
        }
        finally
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill();
            }
        }
    }

    /// <summary>
    /// What the README runs, Lguest.Host/bin/Release/net10.0/Lguest.Host.dll, which is ReadyToRun; the copy next to
    /// the runner has the same code but its dependencies as plain IL from the package cache.
    /// </summary>
    private static string? ReleaseBuildOfLauncher()
    {
        string path = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "Lguest.Host", "bin", "Release", "net10.0", "Lguest.Host.dll"));
        return File.Exists(path) ? path : null;
    }
}
