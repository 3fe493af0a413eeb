using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// Start-up time to listening sockets and peak RSS of an idle back end serving 1 and 16 block devices: ours as a
/// user runs it (the ReadyToRun build of `dotnet build -c Release`), against qemu-storage-daemon with as many
/// exports, and the floor: a bare .NET process that prints one line and idles. With --previous, an older build of
/// Lguest.Host.dll is measured the same way, for a before/after in one run.
/// </summary>
internal static class FootprintBenchmark
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Let start-up finish what it does after the sockets appear (the rest of the actor system, JIT) before reading the peak.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

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
            Sample ours = Median(starts, () => Measure(() => BackEndProcess.StartOurs(images.Directory, files, hostDll: launcher)));
            single ??= ours;
            Sample? previous = options.PreviousHost is { } dll
                ? Median(starts, () => Measure(() => BackEndProcess.StartOurs(images.Directory, files, name: "previous", hostDll: dll)))
                : null;
            Sample? peer = BackEndProcess.PeerAvailable && !options.NoPeer
                ? Median(starts, () => Measure(() => BackEndProcess.StartPeer(images.Directory, files)))
                : null;
            string name = $"{devices} blk device{(devices == 1 ? "" : "s")}, idle";
            log.WriteLine($"footprint {name}: ours {ours.Threads} threads, {ours.CpuMilliseconds:0} ms CPU to the socket; peer {peer?.Threads} threads, {peer?.CpuMilliseconds:0} ms CPU");
            string ratio = peer is { } p ? $"RSS {ours.Rss / p.Rss:0.0}x, start {ours.Milliseconds / p.Milliseconds:0.0}x" : "";
            yield return new ResultRow("footprint", name, "ours") { StartMilliseconds = ours.Milliseconds, RssMegabytes = ours.Rss, Ratio = $"CPU to the socket {ours.CpuMilliseconds:0} ms" };
            if (previous is { } before)
            {
                yield return new ResultRow("footprint", name, "previous") { StartMilliseconds = before.Milliseconds, RssMegabytes = before.Rss, Ratio = $"CPU to the socket {before.CpuMilliseconds:0} ms" };
            }
            if (peer is { } q)
            {
                // On the peer's row, as in the vhost-user suite: ours/this peer.
                yield return new ResultRow("footprint", name, "qemu-storage-daemon") { StartMilliseconds = q.Milliseconds, RssMegabytes = q.Rss, Ratio = ratio };
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

    private static Sample Measure(Func<BackEndProcess> start)
    {
        using BackEndProcess backEnd = start();
        Thread.Sleep(Settle);
        return new Sample(backEnd.StartUp.TotalMilliseconds, backEnd.StartUpCpu.TotalMilliseconds, backEnd.PeakRssMegabytes(), backEnd.Threads());
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
            Thread.Sleep(Settle);
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
