using System.Diagnostics;

namespace Lguest.Host.Tests;

/// <summary>
/// The benchmark runner still runs: --quick --only ring exits 0 and prints its one table with a row per ring case.
/// Only the shape is checked, never a number: timings on a shared CI machine prove nothing. The vhost-user suite
/// is left out here because with its peer it takes longer than a smoke test should (about 24 s with --quick).
/// </summary>
public sealed class BenchSmokeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Quick_ring_run_prints_the_table()
    {
        string bench = Path.Combine(AppContext.BaseDirectory, "Lguest.Bench.dll");
        Assert.True(File.Exists(bench), $"{bench} was not copied next to the tests");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[bench, "--quick", "--only", "ring"])
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        await process.WaitForExitAsync(timeout.Token);
        string output = await stdout;

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stderr}");
        Assert.Contains("machine: ", output, StringComparison.Ordinal);
        Assert.Contains("command: dotnet run -c Release --project bench/Lguest.Bench -- --quick --only ring", output, StringComparison.Ordinal);
        Assert.Contains("| suite | case | target | ns/op | B/op |", output, StringComparison.Ordinal);
        string[] rows = output.Split('\n').Where(l => l.StartsWith("| ring |", StringComparison.Ordinal)).ToArray();
        Assert.Equal(12, rows.Length);
        Assert.Contains(rows, r => r.Contains("17 desc, indirect, EVENT_IDX", StringComparison.Ordinal));
    }
}
