using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Lguest.Actors.Engines.Qemu.Initramfs;

namespace Lguest.Bench;

/// <summary>
/// Two real guests on one segment (issue 14): the same two TCG guests (kernel, built initramfs, 256 MiB, virtio-net)
/// once on our switch (a switch launcher, each guest a qemu-engine launcher whose NIC is a switch port over
/// vhost-user) and once on a Linux bridge in a network namespace of its own, each a bare QEMU with its own tap
/// netdev (vhost=off: this machine has no /dev/vhost-net). Measured inside guest A: busybox nc sending 64 MiB to
/// guest B (MB/s, from /proc/uptime around nc; the receiver writes to /dev/null) and ping RTT to B (p50 and p99 of
/// 30 pings). The bridge side needs root; without it only our side runs.
/// </summary>
internal static partial class SwitchGuestsBenchmark
{
    private const string Suite = "switch-guests";
    private const string Qemu = "qemu-system-x86_64";
    private const string OursName = "our switch (vhost-user ports)";
    private const string TheirsName = "Linux bridge + QEMU tap";
    private const int TransferMiB = 64;
    private const int Pings = 30;
    private const int Port = 5001;
    private const string AddressA = "10.0.9.2";
    private const string AddressB = "10.0.9.3";
    private const string MacA = "52:54:00:00:09:02";
    private const string MacB = "52:54:00:00:09:03";

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        if (FindOnPath(Qemu) is null || !File.Exists("/vmlinuz"))
        {
            log.WriteLine($"{Suite}: skipped, {(File.Exists("/vmlinuz") ? Qemu + " is not on PATH" : "no /vmlinuz")}");
            return [];
        }
        string initrd = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", Path.Combine(images.Directory, "cache")));
        int transfers = options.Quick ? 1 : 3;
        PairFigures ours = OnOurSwitch(initrd, transfers, log);
        PairFigures? theirs = null;
        if (options.NoPeer)
        {
            log.WriteLine($"{Suite}: --no-peer, the bridge is not measured");
        }
        else if (!Environment.IsPrivilegedProcess)
        {
            log.WriteLine($"{Suite}: the Linux bridge needs root (a network namespace and taps); only our switch was measured");
        }
        else
        {
            theirs = OnLinuxBridge(initrd, transfers, log);
        }
        return Rows(ours, theirs);
    }

    private static IEnumerable<ResultRow> Rows(PairFigures ours, PairFigures? theirs)
    {
        string throughput = $"nc {TransferMiB} MiB guest A -> B (median of {ours.MegabytesPerSecond.Count})";
        string rtt = $"ping RTT guest A -> B ({Pings} pings)";
        double oursRate = Median(ours.MegabytesPerSecond);
        yield return new ResultRow(Suite, throughput, OursName) { MegabytesPerSecond = oursRate };
        if (theirs is not null)
        {
            double peerRate = Median(theirs.MegabytesPerSecond);
            yield return new ResultRow(Suite, throughput, TheirsName) { MegabytesPerSecond = peerRate, Ratio = $"{oursRate / peerRate:0.00}x" };
        }
        yield return new ResultRow(Suite, rtt, OursName) { P50Microseconds = Percentile(ours.RttMicroseconds, 50), P99Microseconds = Percentile(ours.RttMicroseconds, 99) };
        if (theirs is not null)
        {
            yield return new ResultRow(Suite, rtt, TheirsName)
            {
                P50Microseconds = Percentile(theirs.RttMicroseconds, 50),
                P99Microseconds = Percentile(theirs.RttMicroseconds, 99),
                Ratio = $"{Percentile(ours.RttMicroseconds, 50) / Percentile(theirs.RttMicroseconds, 50):0.00}x",
            };
        }
    }

    /// <summary>The README's commands: a switch launcher with two ports, and a qemu-engine launcher per guest on one of them.</summary>
    private static PairFigures OnOurSwitch(string initrd, int transfers, TextWriter log)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        string work = Directory.CreateTempSubdirectory("lguest-bench-switch-").FullName;
        string a = Path.Combine(work, "lan0-a.sock");
        string b = Path.Combine(work, "lan0-b.sock");
        string switchConfig = Path.Combine(work, "switch.hocon");
        File.WriteAllText(switchConfig, $$"""
            lguest {
              engine = vhost-user
              switches = [ { name = lan0 } ]
              devices = [
                { type = net, switch = lan0, socket = "{{a}}" }
                { type = net, switch = lan0, socket = "{{b}}" }
              ]
            }
            """);
        using BenchGuestConsole network = BenchGuestConsole.Start("switch", "dotnet", [host, "--config", switchConfig]);
        try
        {
            var waited = Stopwatch.StartNew();
            while (!File.Exists(a) || !File.Exists(b))
            {
                if (waited.Elapsed > TimeSpan.FromMinutes(1))
                {
                    throw new TimeoutException("the switch did not listen on its ports within a minute");
                }
                Thread.Sleep(20);
            }
            string GuestConfig(string name, string socket, string address, string mac)
            {
                string path = Path.Combine(work, $"guest-{name}.hocon");
                File.WriteAllText(path, $$"""
                    lguest {
                      engine = qemu
                      qemu.accel = tcg
                      memory = 256M
                      kernel = "/vmlinuz"
                      initrd = "{{initrd}}"
                      command-line = "quiet"
                      devices = [ { type = net, vhost-user-socket = "{{socket}}", guest-address = "{{address}}", prefix-length = 24, mac = "{{mac}}" } ]
                    }
                    """);
                return path;
            }
            using BenchGuestConsole guestA = BenchGuestConsole.Start("a", "dotnet", [host, "--config", GuestConfig("a", a, AddressA, MacA)]);
            using BenchGuestConsole guestB = BenchGuestConsole.Start("b", "dotnet", [host, "--config", GuestConfig("b", b, AddressB, MacB)]);
            return Measure(guestA, guestB, transfers, log, "ours");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// A namespace of its own holding a bridge and two taps on it; each guest a bare QEMU run inside it, on its tap,
    /// with what the launcher gives QEMU otherwise (memfd RAM, the console on a virtio console, the same command line).
    /// </summary>
    private static PairFigures OnLinuxBridge(string initrd, int transfers, TextWriter log)
    {
        string netns = $"lguest-bench-br-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        Ip("netns", "add", netns);
        try
        {
            Ip("-n", netns, "link", "add", "br0", "type", "bridge");
            Ip("-n", netns, "link", "set", "br0", "up");
            foreach (string tap in (string[])["tapa", "tapb"])
            {
                Ip("-n", netns, "tuntap", "add", "dev", tap, "mode", "tap");
                Ip("-n", netns, "link", "set", tap, "master", "br0");
                Ip("-n", netns, "link", "set", tap, "up");
            }
            string[] Guest(string tap, string address, string mac) =>
            [
                "netns", "exec", netns, Qemu,
                "-nodefaults", "-no-user-config", "-display", "none", "-accel", "tcg", "-m", "256",
                "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-M", "pc,memory-backend=mem",
                "-serial", "null",
                "-device", "virtio-serial-pci", "-chardev", "stdio,id=con,signal=off", "-device", "virtconsole,chardev=con",
                "-kernel", "/vmlinuz", "-initrd", initrd,
                "-append", $"console=ttyS0 console=hvc0 lguest.interactive=0 lguest.ip={address}/24 quiet",
                "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                "-device", $"virtio-net-pci,netdev=n0,mac={mac},romfile=",
            ];
            using BenchGuestConsole guestA = BenchGuestConsole.Start("a", "ip", Guest("tapa", AddressA, MacA));
            using BenchGuestConsole guestB = BenchGuestConsole.Start("b", "ip", Guest("tapb", AddressB, MacB));
            return Measure(guestA, guestB, transfers, log, "bridge");
        }
        finally
        {
            // Deleting the namespace takes its bridge and taps with it.
            Ip(mustSucceed: false, "netns", "del", netns);
        }
    }

    /// <summary>
    /// Both guests up; ARP warmed by one ping; then the RTTs and the transfers, each to a fresh listener on B. The
    /// file sent is made before the clock starts, so /dev/urandom's cost is not in the rate.
    /// </summary>
    private static PairFigures Measure(BenchGuestConsole guestA, BenchGuestConsole guestB, int transfers, TextWriter log, string label)
    {
        guestA.WaitUntilReady();
        guestB.WaitUntilReady();
        guestA.Run($"ping -c 1 -W 10 {AddressB} >/dev/null; echo warmed");
        List<double> rtts = [.. RttLine().Matches(guestA.Run($"ping -c {Pings} -i 0.2 -W 10 {AddressB}"))
            .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1000)];
        if (rtts.Count < Pings / 2)
        {
            throw new InvalidOperationException($"{label}: only {rtts.Count} of {Pings} pings from A to B were answered");
        }
        guestA.Run($"dd if=/dev/urandom of=/tmp/sent bs=1M count={TransferMiB} 2>/dev/null; echo made");
        var rates = new List<double>();
        for (int i = 0; i < transfers; i++)
        {
            // busybox nc stops reading the network when its stdin ends, so the listener's stdin stays open.
            guestB.Run($"(sleep 600 | nc -l -p {Port} >/dev/null) >/dev/null 2>&1 & while ! netstat -ltn | grep -q ':{Port} '; do sleep 0.1; done; echo listening");
            string[] uptimes = guestA.Run($"t0=$(cut -d' ' -f1 /proc/uptime); nc {AddressB} {Port} < /tmp/sent; echo $t0 $(cut -d' ' -f1 /proc/uptime)")
                .Split(' ', StringSplitOptions.RemoveEmptyEntries);
            double seconds = double.Parse(uptimes[^1], CultureInfo.InvariantCulture) - double.Parse(uptimes[^2], CultureInfo.InvariantCulture);
            rates.Add(TransferMiB * 1048576 / 1e6 / seconds);
            guestB.Run("killall sleep 2>/dev/null; echo reaped");
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Suite} {label}: nc {string.Join(", ", rates.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))} MB/s; ping p50 {Percentile(rtts, 50):0} us, p99 {Percentile(rtts, 99):0} us ({rtts.Count} replies)"));
        guestA.PowerOff();
        guestB.PowerOff();
        return new PairFigures(rates, rtts);
    }

    [GeneratedRegex(@"time=([0-9.]+) ms")]
    private static partial Regex RttLine();

    private static void Ip(params string[] args) => Ip(mustSucceed: true, args);

    private static void Ip(bool mustSucceed, params string[] args)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("ip did not start");
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (mustSucceed && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {errors.Trim()}");
        }
    }

    private static double Median(IReadOnlyList<double> values) => Percentile(values, 50);

    private static double Percentile(IReadOnlyList<double> values, int percent)
    {
        double[] sorted = [.. values.Order()];
        return sorted[Math.Min(sorted.Length - 1, sorted.Length * percent / 100)];
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(d => Path.Combine(d.Length == 0 ? "." : d, program)).FirstOrDefault(File.Exists);

    private sealed record PairFigures(IReadOnlyList<double> MegabytesPerSecond, IReadOnlyList<double> RttMicroseconds);
}
