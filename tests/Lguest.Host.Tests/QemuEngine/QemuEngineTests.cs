using System.Globalization;
using System.Text;
using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.QemuEngine;

/// <summary>
/// engine = qemu end to end: the built launcher boots Debian's kernel under QEMU TCG on our disk, rng and console,
/// and the test types into its stdin as a user's script would. Boots are few; each carries several checks.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class QemuEngineTests(ITestOutputHelper output) : IDisposable
{
    private const int DiskMiB = 16;
    private const long HostMarkerOffset = 1 << 20;
    private const long GuestMarkerSector = 4096;
    private const string HostMarker = "host-wrote-this-marker";
    private const string GuestMarker = "guest-wrote-this-marker";

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-qemu-engine-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [RealGuestFact]
    public void A_real_guest_uses_our_disk_and_rng_reboots_on_the_same_disk_and_powers_off()
    {
        string image = CreateDisk();
        string config = QemuEngineConfig.Write(_directory, $$"""{ type = block, path = "{{image}}" }, { type = rng }""");
        using LauncherSession launcher = LauncherSession.Start(output, "--config", config);

        launcher.WaitForOutput(LauncherSession.ReadyLine);
        launcher.Send("echo SIZE=$(cat /sys/block/vda/size)");
        launcher.Send($"echo HOST=$(dd if=/dev/vda bs=1 skip={HostMarkerOffset} count={HostMarker.Length} 2>/dev/null)");
        launcher.Send("echo RNG=$(cat /sys/class/misc/hw_random/rng_current)");
        launcher.Send($"printf {GuestMarker} > /tmp/m && dd if=/tmp/m of=/tmp/s bs=512 count=1 conv=sync 2>/dev/null "
            + $"&& dd if=/tmp/s of=/dev/vda bs=512 seek={GuestMarkerSector} count=1 oflag=direct conv=fsync,notrunc 2>/dev/null && echo WROTE=ok");
        launcher.WaitForOutput("WROTE=");
        Assert.Equal((DiskMiB << 20) / 512, long.Parse(launcher.OutputBetween("SIZE=", "\n"), CultureInfo.InvariantCulture));
        Assert.Equal(HostMarker, launcher.OutputBetween("HOST=", "\n"));
        Assert.Equal("virtio_rng.0", launcher.OutputBetween("RNG=", "\n"));
        Assert.Equal("ok", launcher.OutputBetween("WROTE=", "\n"));

        // A reboot is a new QEMU on new back ends in the same launcher, over the same file.
        launcher.Send("reboot");
        launcher.WaitForOutput(LauncherSession.ReadyLine, count: 2);
        launcher.Send($"echo AGAIN=$(dd if=/dev/vda bs=512 skip={GuestMarkerSector} count=1 iflag=direct 2>/dev/null | head -c {GuestMarker.Length})");
        launcher.WaitForOutput("AGAIN=");
        launcher.Send("poweroff");

        Assert.Equal(0, launcher.WaitForExit());
        Assert.Equal(GuestMarker, launcher.OutputBetween("AGAIN=", "\n"));
        Assert.Contains("guest reboot requested", launcher.Stderr, StringComparison.Ordinal);
        Assert.Equal(GuestMarker, ReadFile(image, GuestMarkerSector * 512, GuestMarker.Length));
    }

    [RealGuestFact]
    public void QEMU_killed_with_SIGKILL_ends_the_launcher_with_exit_1_naming_QEMU()
    {
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }");
        using LauncherSession launcher = LauncherSession.Start(output, "--config", config);
        int qemu = launcher.QemuPid();
        launcher.WaitForLog("is running the guest");
        HostTools.Check("kill", "-KILL", qemu.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(1, launcher.WaitForExit());
        Assert.Contains("QEMU", launcher.LastStderrLine, StringComparison.Ordinal);
        Assert.Contains("killed by signal 9", launcher.LastStderrLine, StringComparison.Ordinal);
    }

    /// <summary>
    /// SIGKILL leaves the launcher no chance to clean up: QEMU dies by its parent-death signal, and the runtime
    /// directory stays until the next qemu launcher, which removes it before making its own.
    /// </summary>
    [RealGuestFact]
    public void A_launcher_killed_with_SIGKILL_takes_QEMU_with_it_and_the_next_launcher_removes_its_runtime_directory()
    {
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }");
        string leftover;
        using (LauncherSession killed = LauncherSession.Start(output, "--config", config))
        {
            int qemu = killed.QemuPid();
            leftover = killed.RuntimeDirectory();
            killed.WaitForLog("is running the guest");
            HostTools.Check("kill", "-KILL", killed.Pid.ToString(CultureInfo.InvariantCulture));

            Assert.True(Until(() => Gone(qemu)), $"QEMU (pid {qemu}) outlived the launcher killed with SIGKILL");
            Assert.True(Until(() => Gone(killed.Pid)), "the killed launcher is still there");
        }
        Assert.True(Directory.Exists(leftover), $"{leftover} was removed by a launcher that was SIGKILLed?");

        using LauncherSession next = LauncherSession.Start(output, "--config", config);
        string own = next.RuntimeDirectory();
        HostTools.Check("kill", "-TERM", next.Pid.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(0, next.WaitForExit());
        Assert.NotEqual(leftover, own);
        Assert.False(Directory.Exists(leftover), $"the dead launcher's runtime directory {leftover} is still there");
        Assert.False(Directory.Exists(own), $"the launcher's own runtime directory {own} outlived it");
    }

    /// <summary>Exited: no such process, or a zombie waiting for its (new) parent to reap it.</summary>
    private static bool Gone(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>A condition wait: true as soon as <paramref name="condition"/> holds, false after a generous limit.</summary>
    private static bool Until(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            Thread.Sleep(50);
        }
        return true;
    }

    /// <summary>pvpanic reports the panic as GUEST_PANICKED; QEMU, paused by -action panic=pause, is told to quit.</summary>
    [RealGuestFact]
    public void A_guest_kernel_panic_ends_the_launcher_with_exit_1_saying_so()
    {
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }");
        using LauncherSession launcher = LauncherSession.Start(output, "--config", config);
        launcher.WaitForOutput(LauncherSession.ReadyLine);
        launcher.Send("echo c > /proc/sysrq-trigger");

        Assert.Equal(1, launcher.WaitForExit());
        Assert.Equal("lguest: the guest kernel panicked", launcher.LastStderrLine);
    }

    /// <summary>
    /// A host failure on a device is fatal (kill-launcher): an rng whose source runs dry fails as soon as the guest's
    /// driver asks for entropy, and the launcher stops QEMU and exits 1 naming the device.
    /// </summary>
    [RealGuestFact]
    public void A_device_that_fails_on_the_host_stops_QEMU_and_the_launcher_exits_1_naming_it()
    {
        string source = Path.Combine(_directory, "entropy");
        File.WriteAllBytes(source, new byte[16]);
        string config = QemuEngineConfig.Write(_directory, $$"""{ type = rng, source = "{{source}}" }""");
        using LauncherSession launcher = LauncherSession.Start(output, "--config", config);
        int qemu = launcher.QemuPid();

        Assert.Equal(1, launcher.WaitForExit());
        Assert.StartsWith("lguest: rng:", launcher.LastStderrLine, StringComparison.Ordinal);
        Assert.Contains("ran dry", launcher.LastStderrLine, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{qemu}") && File.ReadAllText($"/proc/{qemu}/comm").StartsWith("qemu", StringComparison.Ordinal),
            $"QEMU (pid {qemu}) outlived the launcher");
    }

    [RealGuestFact]
    public async Task A_QEMU_that_exits_as_it_starts_ends_the_launcher_with_exit_1_naming_QEMU_and_its_status()
    {
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }", "qemu.binary = \"/bin/false\"");
        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"^lguest: QEMU \(pid \d+\) exited with status 1$", result.StderrLines[^1]);
    }

    [RealGuestFact]
    public async Task A_missing_QEMU_binary_is_a_one_line_usage_error()
    {
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }", "qemu.binary = \"/no/such/qemu-system-x86_64\"");
        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        // The key's line in the file follows the message, as for every configuration error.
        string line = Assert.Single(result.StderrLines);
        Assert.StartsWith("lguest: lguest.qemu.binary: /no/such/qemu-system-x86_64 not found (apt-get install qemu-system-x86) (", line);
        Assert.Matches($@"\({System.Text.RegularExpressions.Regex.Escape(config)}:\d+\)$", line);
    }

    [RealGuestFact]
    public async Task A_kernel_that_is_not_a_kernel_is_a_one_line_usage_error()
    {
        string notAKernel = Path.Combine(_directory, "vmlinuz");
        File.WriteAllText(notAKernel, new string('x', 4096));
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }", kernel: notAKernel);
        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.StderrLines);
        Assert.StartsWith("lguest: lguest.kernel:", line, StringComparison.Ordinal);
    }

    private string CreateDisk()
    {
        string image = Path.Combine(_directory, "disk.img");
        using (FileStream file = File.Create(image))
        {
            file.SetLength(DiskMiB << 20);
            file.Position = HostMarkerOffset;
            file.Write(Encoding.ASCII.GetBytes(HostMarker));
        }
        return image;
    }

    private static string ReadFile(string path, long offset, int length)
    {
        using FileStream file = File.OpenRead(path);
        byte[] bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        return Encoding.ASCII.GetString(bytes);
    }
}
