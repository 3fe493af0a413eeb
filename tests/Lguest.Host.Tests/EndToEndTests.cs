using System.Text;

namespace Lguest.Host.Tests;

/// <summary>
/// The launcher as a user runs it: the built Lguest.Host.dll, a config file, the simulated engine or the lguest
/// engine over the kernel model (lguest-model), and the guest's console on stdout. The guest boots a kernel built
/// here, uses console, block and rng, and powers off.
/// </summary>
public sealed class EndToEndTests : IDisposable
{
    private const int DiskBytes = 1 << 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-e2e-").FullName;

    public EndToEndTests()
    {
        TestKernel.Write(_directory);
        File.WriteAllBytes(Path.Combine(_directory, "disk.img"), new byte[DiskBytes]);
    }

    [Theory]
    [InlineData("simulated")]
    [InlineData("lguest-model")]
    public async Task The_simulated_guest_boots_uses_its_devices_and_powers_off(string engine)
    {
        string config = WriteConfig(engine, """
            lguest {
              engine = ENGINE
              memory = 32M
              kernel = "KERNEL"
              command-line = "root=/dev/vda sim.block=write-read sim.rng=64"
              devices = [
                { type = block, path = "DISK" }
                { type = rng }
              ]
            }
            """);

        HostProcess.Result run = await HostProcess.RunAsync("--config", config);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\nstdout:\n{run.Stdout}\nstderr:\n{run.Stderr}");
        string[] console = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Linux version 6.1.0-lguest-sim (simulated lguest guest)", console[0]);
        Assert.Contains("Command line: root=/dev/vda sim.block=write-read sim.rng=64", console);
        Assert.Contains($"block: vda {DiskBytes / 512} sectors", console);
        Assert.Contains("block: vda write-read OK", console);
        Assert.Contains("rng: read 64 bytes", console);
        Assert.Equal("sim: power off", console[^1]);

        // The guest's write went through the block device into the host file, at sector 0.
        byte[] disk = await File.ReadAllBytesAsync(Path.Combine(_directory, "disk.img"));
        Assert.Equal(DiskBytes, disk.Length);
        Assert.StartsWith("lguest-sim marker, boot 1", Encoding.ASCII.GetString(disk, 0, 64));

        // Logs go to stderr, never into the guest's console.
        Assert.DoesNotContain(console, line => line.Contains("[INF]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("simulated")]
    [InlineData("lguest-model")]
    public async Task A_guest_reboot_restarts_it_afresh_and_the_disk_still_works(string engine)
    {
        string config = WriteConfig(engine, """
            lguest {
              engine = ENGINE
              memory = 32M
              kernel = "KERNEL"
              command-line = "sim.reboot=once sim.block=write-read sim.rng=0"
              devices = [ { type = block, path = "DISK" } ]
            }
            """);

        HostProcess.Result run = await HostProcess.RunAsync("--config", config);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\nstdout:\n{run.Stdout}\nstderr:\n{run.Stderr}");
        string[] console = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int firstBoot = Array.IndexOf(console, "sim: init started (boot 1)");
        int reboot = Array.IndexOf(console, "sim: rebooting");
        int secondBoot = Array.IndexOf(console, "sim: init started (boot 2)");
        Assert.True(firstBoot >= 0 && reboot > firstBoot && secondBoot > reboot, run.Stdout);
        Assert.Equal(2, console.Count(line => line == "block: vda write-read OK"));
        Assert.Equal("sim: power off", console[^1]);
        byte[] disk = await File.ReadAllBytesAsync(Path.Combine(_directory, "disk.img"));
        Assert.StartsWith("lguest-sim marker, boot 2", Encoding.ASCII.GetString(disk, 0, 64));
    }

    [SkippableAsRootTheory]
    [InlineData("simulated")]
    [InlineData("lguest-model")]
    public async Task Chroot_and_user_apply_once_the_guest_is_set_up_as_in_the_seed(string engine)
    {
        string jail = Directory.CreateDirectory(Path.Combine(_directory, "jail")).FullName;
        string config = WriteConfig(engine, $$"""
            lguest {
              engine = ENGINE
              memory = 32M
              kernel = "KERNEL"
              command-line = "sim.block=write-read sim.rng=8"
              chroot = "{{jail}}"
              user = nobody
              devices = [ { type = block, path = "DISK" }, { type = rng } ]
            }
            """);

        HostProcess.Result run = await HostProcess.RunAsync("--config", config);

        // The disk and /dev/urandom were opened before the chroot; the guest uses both after it.
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\nstderr:\n{run.Stderr}");
        Assert.Contains(run.StderrLines, line => line.Contains($"privileges: chroot {jail}, user nobody", StringComparison.Ordinal));
        Assert.Contains("block: vda write-read OK", run.Stdout);
        Assert.Contains("rng: read 8 bytes", run.Stdout);
    }

    [Theory]
    [InlineData("simulated")]
    [InlineData("lguest-model")]
    public async Task A_guest_that_panics_exits_1_with_its_reason(string engine)
    {
        string config = WriteConfig(engine, """
            lguest {
              engine = ENGINE
              memory = 32M
              kernel = "KERNEL"
              command-line = "sim.panic=no-init-found"
            }
            """);

        HostProcess.Result run = await HostProcess.RunAsync("--config", config);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(run.StderrLines, line => line == "lguest: CRASH: no-init-found");
    }

    [Fact]
    public async Task The_seed_command_line_runs_the_same_guest()
    {
        string kernel = Path.Combine(_directory, "vmlinux");
        string disk = Path.Combine(_directory, "disk.img");

        HostProcess.Result run = await HostProcess.RunAsync(
            $"--block={disk}", "--rng", "32", kernel, "root=/dev/vda", "sim.rng=8");

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\nstderr:\n{run.Stderr}");
        Assert.Contains("rng: read 8 bytes", run.Stdout);
        Assert.Contains("block: vda read sector 0 OK", run.Stdout);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Both the simulated engine and the lguest engine over the kernel model must run the same guest.</summary>
    private string WriteConfig(string engine, string text)
    {
        string path = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(path, text
            .Replace("ENGINE", engine, StringComparison.Ordinal)
            .Replace("KERNEL", Path.Combine(_directory, "vmlinux"), StringComparison.Ordinal)
            .Replace("DISK", Path.Combine(_directory, "disk.img"), StringComparison.Ordinal));
        return path;
    }
}
