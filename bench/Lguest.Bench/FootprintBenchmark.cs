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
            Sample ours = Median(starts, () => Measure(startOurs));
            single ??= ours;
            Sample? previous = startPrevious is null ? null : Median(starts, () => Measure(startPrevious));
            Sample? peer = startPeer is null ? null : Median(starts, () => Measure(startPeer));
            double? oursReply = devices == 1 ? MedianReply(starts, startOurs) : null;
            double? previousReply = devices == 1 && startPrevious is not null ? MedianReply(starts, startPrevious) : null;
            double? peerReply = devices == 1 && startPeer is not null ? MedianReply(starts, startPeer) : null;
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
    private static Sample Median(int starts, Func<Sample> measure)
    {
        Sample[] samples = [.. Enumerable.Range(0, starts).Select(_ => measure())];
        static double Mid(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
        return new Sample(
            Mid(samples.Select(x => x.Milliseconds)), Mid(samples.Select(x => x.CpuMilliseconds)), Mid(samples.Select(x => x.Rss)),
            (long)Mid(samples.Select(x => (double)x.Threads)));
    }

    private static double MedianReply(int starts, Func<BackEndProcess> start) =>
        Enumerable.Range(0, starts).Select(_ => MeasureFirstReply(start)).Order().ElementAt(starts / 2);

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
