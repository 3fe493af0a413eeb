using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// Start-up time to listening sockets and peak RSS of an idle back end serving 1 and 16 block devices: ours as a
/// user runs it (the ReadyToRun build of `dotnet build -c Release`), against qemu-storage-daemon with as many
/// exports, and the floor: a bare .NET process that prints one line and idles.
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
        (double ms, double rss, long threads)? single = null;
        foreach (int devices in (int[])[1, 16])
        {
            IReadOnlyList<string> files = images.Sparse(devices);
            (double ms, double rss, long threads) ours = Measure(() => BackEndProcess.StartOurs(images.Directory, files, hostDll: launcher));
            single ??= ours;
            (double ms, double rss, long threads)? peer = BackEndProcess.PeerAvailable && !options.NoPeer
                ? Measure(() => BackEndProcess.StartPeer(images.Directory, files))
                : null;
            string name = $"{devices} blk device{(devices == 1 ? "" : "s")}, idle";
            log.WriteLine($"footprint {name}: ours {ours.threads} threads, peer {peer?.threads} threads");
            string ratio = peer is { } p ? $"RSS {ours.rss / p.rss:0.0}x, start {ours.ms / p.ms:0.0}x" : "";
            yield return new ResultRow("footprint", name, "ours") { StartMilliseconds = ours.ms, RssMegabytes = ours.rss };
            if (peer is { } q)
            {
                // On the peer's row, as in the vhost-user suite: ours/this peer.
                yield return new ResultRow("footprint", name, "qemu-storage-daemon") { StartMilliseconds = q.ms, RssMegabytes = q.rss, Ratio = ratio };
            }
        }

        (double ms, double rss, long threads) floor = MeasureFloor();
        log.WriteLine($"footprint floor: {floor.threads} threads");
        yield return new ResultRow("footprint", "bare .NET process, idle", "floor (hello world)")
        {
            StartMilliseconds = floor.ms,
            RssMegabytes = floor.rss,
            Ratio = single is { } s ? $"ours (1 device): RSS {s.rss / floor.rss:0.0}x, start {s.ms / floor.ms:0.0}x" : "",
        };
    }

    private static (double Milliseconds, double Rss, long Threads) Measure(Func<BackEndProcess> start)
    {
        using BackEndProcess backEnd = start();
        Thread.Sleep(Settle);
        return (backEnd.StartUp.TotalMilliseconds, backEnd.PeakRssMegabytes(), backEnd.Threads());
    }

    /// <summary>From Process.Start to the floor's first line on stdout (its "listening"), then its peak RSS as for ours.</summary>
    private static (double Milliseconds, double Rss, long Threads) MeasureFloor()
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
            Thread.Sleep(Settle);
            return (milliseconds, ProcessStats.PeakRssMegabytes(process.Id), ProcessStats.Threads(process.Id));
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
