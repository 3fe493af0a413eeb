using System.Globalization;
using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.QemuEngine;

/// <summary>
/// engine = qemu over a long life and on a network: reboots must not leak (each is a new QEMU, new back ends and
/// new sockets in the same launcher), and eth0 is our tap.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class QemuEngineLifecycleTests(ITestOutputHelper output) : IDisposable
{
    private const int Reboots = 20;

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-qemu-life-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [RealGuestFact]
    public void Twenty_reboots_leave_no_descriptor_thread_or_socket_file_behind()
    {
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }");
        using LauncherSession launcher = LauncherSession.Start(output, "--config", config);
        string runtime = launcher.RuntimeDirectory();

        // Counted after the first reboot: by then every assembly a reboot needs is loaded (each holds a descriptor).
        launcher.WaitForOutput(LauncherSession.ReadyLine);
        launcher.Send("reboot -f");
        launcher.WaitForOutput(LauncherSession.ReadyLine, count: 2);
        (int fds, int threads, string[] files) before = Census(launcher.Pid, runtime);
        for (int boot = 3; boot <= Reboots + 2; boot++)
        {
            launcher.Send("reboot -f");
            launcher.WaitForOutput(LauncherSession.ReadyLine, count: boot);
        }
        (int fds, int threads, string[] files) after = Census(launcher.Pid, runtime);
        launcher.Send("poweroff");
        Assert.Equal(0, launcher.WaitForExit());

        output.WriteLine($"after boot 2: {before.fds} fds, {before.threads} threads; after boot {Reboots + 2}: {after.fds} fds, {after.threads} threads");
        Assert.Equal(before.files, after.files);
        // One leaked descriptor or thread per reboot would show as 20; the runtime's own pools may vary by a few.
        Assert.InRange(after.fds, 0, before.fds + 4);
        Assert.InRange(after.threads, 0, before.threads + 6);
        Assert.False(Directory.Exists(runtime), $"the runtime directory {runtime} outlived the launcher");
    }

    [RealGuestFact(RealGuestNeeds.NetNamespace)]
    public void Eth0_pings_the_host_end_of_our_tap_and_the_end_of_stdin_powers_the_guest_off()
    {
        string name = $"lguest-qe-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        HostTools.Check("ip", "netns", "add", name);
        try
        {
            string config = QemuEngineConfig.Write(_directory, """{ type = net, address = "10.81.0.1" }""");
            using LauncherSession launcher = LauncherSession.Start(output, ["ip", "netns", "exec", name], "--config", config);
            launcher.WaitForOutput(LauncherSession.ReadyLine);
            launcher.Send("ip -4 addr show eth0 | grep -q 10.81.0.2/24 && echo ADDR=ok || echo ADDR=missing");
            launcher.Send("ping -c 3 -W 5 10.81.0.1 >/dev/null 2>&1 && echo PING=ok || echo PING=fail");
            launcher.WaitForOutput("PING=");
            launcher.CloseInput();

            Assert.Equal(0, launcher.WaitForExit());
            Assert.Equal("ok", launcher.OutputBetween("ADDR=", "\n"));
            Assert.Equal("ok", launcher.OutputBetween("PING=", "\n"));
        }
        finally
        {
            HostTools.Run("ip", "netns", "del", name);
        }
    }

    private static (int Fds, int Threads, string[] Files) Census(int pid, string runtime) => (
        Directory.GetFiles($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd").Length,
        Directory.GetDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task").Length,
        [.. Directory.GetFileSystemEntries(runtime).Select(Path.GetFileName).Order(StringComparer.Ordinal).Cast<string>()]);
}
