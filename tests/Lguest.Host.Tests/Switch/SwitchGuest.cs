using System.Globalization;
using Lguest.Host.Tests.QemuEngine;
using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.Switch;

/// <summary>
/// One real guest (the launcher with engine = qemu, TCG) whose NIC is a switch port: vhost-user-socket, its own
/// address and MAC. The test types shell commands into its console, as a user's script would, and reads each
/// answer between markers of its own.
/// </summary>
internal sealed class SwitchGuest : IDisposable
{
    /// <summary>A sed script: busybox ping's "3 packets transmitted, 2 packets received, ..." as "2/3".</summary>
    public const string PingSummary = @"s/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\2\/\1/p";

    private readonly LauncherSession _session;
    private readonly string _name;
    private int _commands;

    private SwitchGuest(LauncherSession session, string name, string address)
    {
        _session = session;
        _name = name;
        Address = address;
    }

    public string Address { get; }

    public int LauncherPid => _session.Pid;

    public LauncherSession Session => _session;

    /// <summary>The config a user would write for this guest (see hocon/switch-guest-a.hocon), with the test's kernel and cache.</summary>
    public static SwitchGuest Start(ITestOutputHelper log, string directory, string name, string socket, string address, string mac)
    {
        string config = QemuEngineConfig.Write(directory,
            $$"""{ type = net, vhost-user-socket = "{{socket}}", guest-address = "{{address}}", prefix-length = 24, mac = "{{mac}}" }""");
        return new SwitchGuest(LauncherSession.Start(log, "--config", config), name, address);
    }

    public void WaitUntilReady(int boot = 1) => _session.WaitForOutput(LauncherSession.ReadyLine, boot);

    /// <summary>Runs <paramref name="command"/> in the guest's shell and returns what it printed, trimmed.</summary>
    public string Run(string command)
    {
        string token = string.Create(CultureInfo.InvariantCulture, $"{_name}{++_commands}");
        // "$( (" not "$((": a command that opens with a subshell must not read as arithmetic.
        _session.Send($"echo \"<{token}>$( {command} )</{token}>\"");
        _session.WaitForOutput($"</{token}>");
        return _session.OutputBetween($"<{token}>", $"</{token}>");
    }

    /// <summary>Starts <paramref name="command"/> in the background; it outlives this call, not the guest.</summary>
    public void Background(string command) => Run($"({command}) >/dev/null 2>&1 & echo started");

    /// <summary>"3/3": replies to <paramref name="count"/> pings of <paramref name="address"/> (each waited for at length).</summary>
    public string Ping(string address, int count = 3) =>
        Run($"ping -c {count} -W 10 {address} | sed -n '{PingSummary}'");

    /// <summary>SIGKILL to the launcher: QEMU dies with it (its parent-death signal); nothing is cleaned up.</summary>
    public void KillLauncher()
    {
        int qemu = _session.QemuPid();
        HostTools.Check("kill", "-KILL", _session.Pid.ToString(CultureInfo.InvariantCulture));
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Directory.Exists($"/proc/{qemu.ToString(CultureInfo.InvariantCulture)}") && !IsZombie(qemu))
        {
            Assert.True(DateTime.UtcNow < deadline, $"QEMU (pid {qemu}) outlived its launcher killed with SIGKILL");
            Thread.Sleep(50);
        }
    }

    /// <summary>End of the script: the guest powers off and the launcher exits; returns its exit code.</summary>
    public int PowerOff()
    {
        _session.CloseInput();
        return _session.WaitForExit();
    }

    public string Describe() => _session.Describe();

    public void Dispose() => _session.Dispose();

    private static bool IsZombie(int pid)
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
}
