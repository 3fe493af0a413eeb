using System.Diagnostics;

namespace Lguest.Host.Tests;

/// <summary>Runs the built Lguest.Host.dll as "dotnet Lguest.Host.dll ARGS" and captures what it printed.</summary>
internal static class HostProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        Assert.True(File.Exists(host), $"{host} was not copied next to the tests");

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(host);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Lguest.Host {string.Join(' ', args)} did not exit within {Timeout}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
