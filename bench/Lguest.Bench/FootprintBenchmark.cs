namespace Lguest.Bench;

/// <summary>
/// Start-up time to listening sockets and peak RSS of an idle back end serving 1 and 16 block devices: ours as
/// Lguest.Host.dll, against qemu-storage-daemon with as many exports.
/// </summary>
internal static class FootprintBenchmark
{
    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        foreach (int devices in (int[])[1, 16])
        {
            IReadOnlyList<string> files = images.Sparse(devices);
            (double ms, double rss, long threads) ours = Measure(() => BackEndProcess.StartOurs(images.Directory, files));
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
    }

    private static (double Milliseconds, double Rss, long Threads) Measure(Func<BackEndProcess> start)
    {
        using BackEndProcess backEnd = start();
        // Let start-up finish what it does after the sockets appear (the rest of the actor system, JIT) before
        // reading the peak.
        Thread.Sleep(300);
        return (backEnd.StartUp.TotalMilliseconds, backEnd.PeakRssMegabytes(), backEnd.Threads());
    }
}
