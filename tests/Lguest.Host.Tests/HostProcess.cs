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

    public static Task<Result> RunAsync(params string[] args) => RunUnderAsync([], args);

    /// <summary>As <see cref="RunAsync"/>, with the dotnet command run by <paramref name="wrapper"/> ("ip netns exec NS").</summary>
    public static async Task<Result> RunUnderAsync(string[] wrapper, params string[] args)
    {
        using Process process = Start(wrapper, args);
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

    /// <summary>Starts "[WRAPPER...] dotnet Lguest.Host.dll ARGS" with stdin closed and stdout and stderr redirected.</summary>
    public static Process Start(string[] wrapper, params string[] args)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        Assert.True(File.Exists(host), $"{host} was not copied next to the tests");

        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        string[] arguments = wrapper.Length > 0 ? [.. wrapper[1..], dotnet, host, .. args] : [host, .. args];
        foreach (string arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        process.StandardInput.Close();
        return process;
    }
}
