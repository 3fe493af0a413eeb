using System.Globalization;
using System.Text;

namespace Lguest.Bench;

/// <summary>
/// One row of the runner's single table. Suites fill the columns that mean something for them and leave the rest
/// empty, so ring, vhost-user and footprint results read side by side.
/// </summary>
internal sealed record ResultRow(string Suite, string Case, string Target)
{
    public double? NsPerOp { get; init; }
    public double? BytesPerOp { get; init; }
    public double? Iops { get; init; }
    public double? MegabytesPerSecond { get; init; }
    public double? P50Microseconds { get; init; }
    public double? P99Microseconds { get; init; }
    public double? CpuSecondsPerMillion { get; init; }
    public double? RssMegabytes { get; init; }
    public double? StartMilliseconds { get; init; }
    public double? FirstReplyMilliseconds { get; init; }
    public string Ratio { get; init; } = "";
}

/// <summary>Renders rows as one Markdown table under the machine, date and command it was measured with.</summary>
internal static class ResultTable
{
    private static readonly string[] Headers =
        ["suite", "case", "target", "ns/op", "B/op", "IOPS", "MB/s", "p50 µs", "p99 µs", "CPU s/M req", "RSS MiB", "start ms", "first reply ms", "ours/peer"];

    public static string Render(IReadOnlyList<ResultRow> rows, string command)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"machine: {MachineInfo.Describe()}");
        text.AppendLine(CultureInfo.InvariantCulture, $"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {MachineInfo.LoadAverage()}");
        text.AppendLine(CultureInfo.InvariantCulture, $"command: {command}");
        text.AppendLine();
        text.AppendLine("| " + string.Join(" | ", Headers) + " |");
        text.AppendLine("|" + string.Concat(Headers.Select((_, i) => i < 3 ? "---|" : "---:|")));
        foreach (ResultRow r in rows)
        {
            string[] cells =
            [
                r.Suite, r.Case, r.Target, F(r.NsPerOp, 1), F(r.BytesPerOp, 1), F(r.Iops, 0), F(r.MegabytesPerSecond, 1),
                F(r.P50Microseconds, 1), F(r.P99Microseconds, 1), F(r.CpuSecondsPerMillion, 1), F(r.RssMegabytes, 1),
                F(r.StartMilliseconds, 0), F(r.FirstReplyMilliseconds, 0), r.Ratio,
            ];
            text.AppendLine("| " + string.Join(" | ", cells) + " |");
        }
        return text.ToString();
    }

    private static string F(double? value, int decimals) =>
        value is { } v ? v.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "";
}
