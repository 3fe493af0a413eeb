namespace Lguest.Bench;

/// <summary>
/// What the R timed windows of one workload against one back end come to: the median of each figure on its own
/// (so one window disturbed by the rest of the machine moves none of them), and the spread of IOPS and p50 across
/// the windows, which shows how far the host drifted while they ran.
/// </summary>
internal sealed record BlockWindows(
    double Iops, double P50Microseconds, double P99Microseconds, double CpuSecondsPerMillion, double ContextSwitchesPerRequest,
    (double Min, double Max) IopsSpread, (double Min, double Max) P50Spread)
{
    public static BlockWindows Of(IReadOnlyList<BlockResult> windows)
    {
        if (windows.Count == 0)
        {
            throw new ArgumentException("no windows were measured", nameof(windows));
        }
        return new BlockWindows(
            Median(windows.Select(w => w.Iops)),
            Median(windows.Select(w => w.P50Microseconds)),
            Median(windows.Select(w => w.P99Microseconds)),
            Median(windows.Select(w => w.CpuSeconds / w.Requests * 1e6)),
            Median(windows.Select(w => (double)w.ContextSwitches / w.Requests)),
            (windows.Min(w => w.Iops), windows.Max(w => w.Iops)),
            (windows.Min(w => w.P50Microseconds), windows.Max(w => w.P50Microseconds)));
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
