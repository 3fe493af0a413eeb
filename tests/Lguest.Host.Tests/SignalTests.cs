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

        // A process started with SIGINT ignored (a background job of a non-interactive shell, as a CI runner may start
        // this suite) passes that on, and the runtime honours an inherited SIG_IGN: the launcher starts with the default.
        using Process host = HostProcess.Start(["env", "--default-signal=" + signal], "--config", config);
        Task<string> stderr = host.StandardError.ReadToEndAsync();
        // The guest is busy writing and flushing: wait until it has really started.
        string? line;
        while ((line = await host.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("block: vda flushed", StringComparison.Ordinal))
        {
        }
        Assert.NotNull(line);

        Process.Start("kill", ["-" + signal, host.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        _ = host.StandardOutput.ReadToEndAsync();
        if (!host.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            host.Kill();
            Assert.Fail($"SIG{signal} did not stop the launcher; it said: {await stderr}");
        }

        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}: {await stderr}");
        Assert.Contains("launcher finished with exit code 0: stopped", await stderr);
        Assert.Equal(1 << 20, new FileInfo(disk).Length);
    }

    /// <summary>
    /// The lguest engine's stop path, in the built host: SIGTERM stops the host, whose launcher signals the run-loop
    /// thread out of the guest's read (the kernel model answers EINTR, as /dev/lguest does to a pending signal).
    /// Before, the stop was an LHREQ_BREAK the kernel refuses, and the launcher hung in the run loop's Join.
    /// </summary>
    [Fact]
    public async Task SIGTERM_during_a_running_guest_on_the_lguest_engine_exits_0_within_1_s()
    {
        string kernel = TestKernel.Write(_directory);
        string disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        string config = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = lguest-model
              memory = 32M
              kernel = "{{kernel}}"
              command-line = "sim.block=flush-loop"
              devices = [ { type = block, path = "{{disk}}" } ]
            }
            """);

        using Process host = HostProcess.Start([], "--config", config);
        Task<string> stderr = host.StandardError.ReadToEndAsync();
        string? line;
        while ((line = await host.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("block: vda flushed", StringComparison.Ordinal))
        {
        }
        Assert.NotNull(line); // the guest is running: writing and flushing through the lguest engine
        _ = host.StandardOutput.ReadToEndAsync();

        var clock = Stopwatch.StartNew();
        Process.Start("kill", ["-TERM", host.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        bool exited = host.WaitForExit(TimeSpan.FromSeconds(30));
        clock.Stop();

        Assert.True(exited, "SIGTERM did not stop the launcher");
        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}: {await stderr}");
        Assert.Contains("launcher finished with exit code 0: stopped", await stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed.TotalMilliseconds:0} ms from SIGTERM to exit");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
