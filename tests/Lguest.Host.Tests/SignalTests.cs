using System.Diagnostics;
using System.Globalization;

namespace Lguest.Host.Tests;

/// <summary>SIGINT and SIGTERM stop a running guest cleanly: exit 0, the launcher says so, and the disk file is intact.</summary>
public sealed class SignalTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-signal-").FullName;

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_signal_stops_the_guest_and_exits_0(string signal)
    {
        string kernel = TestKernel.Write(_directory);
        string disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        string config = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = simulated
              memory = 32M
              kernel = "{{kernel}}"
              command-line = "sim.block=flush-loop"
              devices = [ { type = block, path = "{{disk}}" } ]
            }
            """);

        using Process host = HostProcess.Start([], "--config", config);
        Task<string> stderr = host.StandardError.ReadToEndAsync();
        // The guest is busy writing and flushing: wait until it has really started.
        string? line;
        while ((line = await host.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("block: vda flushed", StringComparison.Ordinal))
        {
        }
        Assert.NotNull(line);

        Process.Start("kill", ["-" + signal, host.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        _ = host.StandardOutput.ReadToEndAsync();
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)), $"SIG{signal} did not stop the launcher");

        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}: {await stderr}");
        Assert.Contains("launcher finished with exit code 0: stopped", await stderr);
        Assert.Equal(1 << 20, new FileInfo(disk).Length);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
