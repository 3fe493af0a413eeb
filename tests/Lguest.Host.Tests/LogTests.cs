using System.Text.RegularExpressions;

namespace Lguest.Host.Tests;

/// <summary>
/// What a user reads on stderr: expected events at info with the actor they concern, no ERR for a normal reboot,
/// one line for a failure, and stack traces only with --verbose.
/// </summary>
public sealed partial class LogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-log-").FullName;

    [Fact]
    public async Task A_guest_reboot_logs_no_error_and_no_stack_trace_and_every_akka_line_names_its_actor()
    {
        string config = WriteConfig("""
            lguest {
              engine = simulated
              memory = 32M
              kernel = "KERNEL"
              command-line = "sim.reboot=once sim.block=write-read sim.rng=0"
              devices = [ { type = block, path = "DISK" } ]
            }
            """);

        HostProcess.Result run = await HostProcess.RunAsync("--config", config);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\nstderr:\n{run.Stderr}");
        Assert.Contains("sim: rebooting", run.Stdout);
        string[] lines = run.StderrLines;
        Assert.Contains(lines, line => line.Contains("guest reboot requested", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" WRN]", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, IsStackTraceLine);
        Assert.DoesNotContain(lines, line => line.Contains("CoordinatedShutdown", StringComparison.Ordinal));
        foreach (string line in lines)
        {
            Match log = LogLine().Match(line);
            Assert.True(log.Success, $"not a log line: {line}");
            string source = log.Groups["source"].Value;
            // Our own closing line is the launcher's; every other line comes from Akka and names an actor.
            Assert.True(source == "lguest" || source.StartsWith("akka://lguest", StringComparison.Ordinal), $"no actor path: {line}");
        }
        // The guest actor (not "Akka.Actor.ActorSystem") announces each boot. Its template is still positional, with
        // a format string ("{4:x}"): until every call is converted, both styles must render as string.Format did.
        Assert.Equal(2, lines.Count(line => line.Contains("akka://lguest/user/launcher-1/guest: guest ", StringComparison.Ordinal)
            && line.EndsWith("32 MiB on the simulated engine, Elf32 kernel entry 100000, 2 device(s)", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_start_up_failure_is_one_line_and_verbose_adds_the_trace()
    {
        // A socket path that cannot be bound is a usage error now (ListenBeforeActorsTests); a "disk" whose size
        // cannot be found fails only when the device is created, inside the actor system.
        string socket = Path.Combine(_directory, "blk.sock");
        const string disk = "/proc/self/status";
        string config = WriteConfig($$"""
            lguest {
              engine = vhost-user
              devices = [ { type = block, path = "{{disk}}", socket = "{{socket}}" } ]
            }
            """);

        HostProcess.Result quiet = await HostProcess.RunAsync("--config", config);
        HostProcess.Result verbose = await HostProcess.RunAsync("--config", config, "--verbose");

        string failure = $"device 1 ({socket}): block: cannot find the size of {disk}: Invalid argument (errno 22)";
        string expected = $"lguest: {failure}";
        Assert.Equal(1, quiet.ExitCode);
        Assert.Equal([expected], quiet.StderrLines);
        Assert.Equal(1, verbose.ExitCode);
        Assert.Equal(expected, verbose.StderrLines[^1]);
        Assert.Contains(verbose.StderrLines, IsStackTraceLine);
        // A named template ("{Reason}") renders its value bare, as positional ones do.
        Assert.Contains(verbose.StderrLines, line => line.EndsWith($"akka://lguest/user/launcher-1: device creation failed: {failure}", StringComparison.Ordinal));
        // Akka's shutdown line, when shown, carries the launcher's exit code rather than 0.
        Assert.Contains(verbose.StderrLines, line => line.Contains("Exiting with [ExitCode:1]", StringComparison.Ordinal));
    }

    private static bool IsStackTraceLine(string line) => line.StartsWith("at ", StringComparison.Ordinal) || line.Contains("Exception:", StringComparison.Ordinal);

    private string WriteConfig(string hocon)
    {
        string kernel = TestKernel.Write(_directory);
        string disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        string path = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(path, hocon.Replace("KERNEL", kernel, StringComparison.Ordinal).Replace("DISK", disk, StringComparison.Ordinal));
        return path;
    }

    [GeneratedRegex(@"^\[\d\d:\d\d:\d\d\.\d{3} (?<level>[A-Z]{3})\] (?<source>\S+): ")]
    private static partial Regex LogLine();

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
