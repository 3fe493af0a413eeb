using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Lguest.Host.Tests;

/// <summary>Runs only as root with /dev/net/tun and iproute2: it creates (and removes) a network namespace.</summary>
public sealed class NamespaceFactAttribute : FactAttribute
{
    public NamespaceFactAttribute()
    {
        if (Environment.UserName != "root")
        {
            Skip = "a network namespace and a tap need root";
        }
        else if (!File.Exists("/dev/net/tun"))
        {
            Skip = "/dev/net/tun is missing (load the tun module)";
        }
        else if (NetworkNamespace.IpCommand is null)
        {
            Skip = "the ip command (iproute2) is missing";
        }
    }
}

/// <summary>
/// The built Lguest.Host.dll with all four devices, its net device a real tap, run inside a network namespace of
/// its own so no frame can leave it: the tap is the only interface with an address there. The simulated guest ARPs
/// for the tap's host end and pings it, and the host kernel answers both.
/// </summary>
public sealed class NetworkNamespaceTests : IDisposable
{
    private const string HostAddress = "10.77.0.1";
    private const int DiskBytes = 1 << 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-netns-").FullName;

    [NamespaceFact]
    public async Task The_guest_gets_the_kernels_arp_and_echo_replies_with_all_four_devices()
    {
        string kernel = TestKernel.Write(_directory);
        string disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(disk, new byte[DiskBytes]);
        string config = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = simulated
              memory = 32M
              kernel = "{{kernel}}"
              command-line = "root=/dev/vda sim.block=write-read sim.rng=64 sim.net=ping:{{HostAddress}}"
              devices = [
                { type = block, path = "{{disk}}" }
                { type = rng }
                { type = net, address = "{{HostAddress}}", mac = "52:54:00:77:00:02" }
              ]
            }
            """);

        using var ns = NetworkNamespace.Create();
        HostProcess.Result run = await HostProcess.RunUnderAsync([NetworkNamespace.IpCommand!, "netns", "exec", ns.Name], "--config", config);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\nstdout:\n{run.Stdout}\nstderr:\n{run.Stderr}");
        string[] console = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("virtio: device 3 console: features 0x0", console); // block, rng, net, then the console last, as in the seed
        Assert.Contains("block: vda write-read OK", console);
        Assert.Contains("rng: read 64 bytes", console);
        Assert.Contains("net: eth0 mac 52:54:00:77:00:02", console);
        Assert.Contains(console, line => Regex.IsMatch(line, $"^net: eth0 arp reply from {Regex.Escape(HostAddress)} is-at ([0-9a-f]{{2}}:){{5}}[0-9a-f]{{2}}$"));
        Assert.Contains($"net: eth0 ping {HostAddress} OK", console);
        Assert.Equal("sim: power off", console[^1]);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

/// <summary>A network namespace named lguest-test-RANDOM, deleted (with any tap left in it) on dispose.</summary>
internal sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(string name) => Name = name;

    /// <summary>The full path of ip, or null when iproute2 is not installed.</summary>
    public static string? IpCommand { get; } = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    public string Name { get; }

    public static NetworkNamespace Create()
    {
        var ns = new NetworkNamespace($"lguest-test-{Guid.NewGuid().ToString("N")[..12]}");
        Ip("netns", "add", ns.Name);
        return ns;
    }

    public void Dispose() => Ip("netns", "del", Name);

    private static void Ip(params string[] args)
    {
        var start = new ProcessStartInfo(IpCommand ?? "ip") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process ip = Process.Start(start) ?? throw new InvalidOperationException("ip did not start");
        string error = ip.StandardError.ReadToEnd();
        if (!ip.WaitForExit(TimeSpan.FromSeconds(30)) || ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed: {error}");
        }
    }
}
