using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Lguest.Actors.Engines.Qemu.Initramfs;

namespace Lguest.Bench;

/// <summary>
/// engine = qemu against QEMU on its own: the same kernel, the same built initramfs, the same TCG machine and kernel
/// command line, once through the launcher (our console, disk and rng over vhost-user) and once as a bare QEMU with
/// its own virtio-blk, virtio-rng and virtio console on stdio. Measured from process start: boot to the guest's
/// ready line ("prompt"), and boot to power-off (the script "poweroff" sent at the prompt, until the process exits).
/// Also where our extra time goes (the launcher's start-up before QEMU's exec and QMP's "cont", from its log lines)
/// and the CPU each side spent up to the prompt. The launcher measured is the README's ReadyToRun Release build.
/// </summary>
internal static partial class QemuEngineBenchmark
{
    private const string Qemu = "qemu-system-x86_64";
    private const string ReadyLine = "lguest: guest ready";
    private const string OursName = "launcher, engine qemu";
    private const string TheirsName = "qemu alone (own devices)";
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromMinutes(3);

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        string? qemu = FindOnPath(Qemu);
        if (qemu is null || !File.Exists("/vmlinuz"))
        {
            log.WriteLine($"qemu: skipped, {(qemu is null ? Qemu + " is not on PATH" : "no /vmlinuz")}");
            yield break;
        }
        string initrd = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", Path.Combine(images.Directory, "cache")));
        // Each its own copy of the same image: neither boot sees what the other wrote.
        string ourCopy = Path.Combine(images.Directory, "disk-qemu-engine-ours.img");
        string peerCopy = Path.Combine(images.Directory, "disk-qemu-engine-peer.img");
        File.Copy(images.Main, ourCopy, overwrite: true);
        File.Copy(images.Main, peerCopy, overwrite: true);
        string config = Path.Combine(images.Directory, "qemu-engine.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = qemu
              qemu.accel = tcg
              memory = 256M
              kernel = "/vmlinuz"
              initrd = "{{initrd}}"
              command-line = "quiet"
              devices = [ { type = block, path = "{{ourCopy}}" }, { type = rng } ]
            }
            """);

        int boots = options.Quick ? 1 : 3;
        var ours = new List<Timing>();
        var theirs = new List<Timing>();
        string host = ReleaseBuildOfLauncher() ?? Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        log.WriteLine($"qemu: launcher {host}");
        for (int i = 0; i < boots; i++)
        {
            ours.Add(Boot("dotnet", [host, "--config", config], log, "ours", launcher: true));
            if (!options.NoPeer)
            {
                theirs.Add(Boot(qemu, PeerArguments(initrd, peerCopy), log, "qemu", launcher: false));
            }
        }
        foreach (ResultRow row in Rows(ours, theirs))
        {
            yield return row;
        }
    }

    /// <summary>
    /// The two headline rows (prompt, power-off) and where our time goes: the launcher before QEMU's exec, QEMU's
    /// own start until the guest runs (QMP "cont"), and the guest's part alone (from QEMU's exec, against the whole
    /// of a bare QEMU, which starts itself the same way). CPU seconds to the prompt do not depend on how loaded the
    /// shared machine is: equal QEMU CPU means the guest did the same work on our devices as on QEMU's.
    /// </summary>
    private static IEnumerable<ResultRow> Rows(List<Timing> ours, List<Timing> theirs)
    {
        IEnumerable<ResultRow> Pair(string name, Func<Timing, double?> pick, Func<Timing, double?>? peerPick = null)
        {
            if (ours.Any(t => pick(t) is null))
            {
                yield break;
            }
            double mine = Median(ours.Select(t => pick(t)!.Value));
            yield return new ResultRow("qemu", name, OursName) { StartMilliseconds = mine };
            peerPick ??= pick;
            if (theirs.Count > 0 && theirs.All(t => peerPick(t) is not null))
            {
                double peer = Median(theirs.Select(t => peerPick(t)!.Value));
                yield return new ResultRow("qemu", name, TheirsName) { StartMilliseconds = peer, Ratio = $"{mine / peer:0.00}x" };
            }
        }

        return Pair("TCG boot to prompt", t => t.Prompt)
            .Concat(Pair("TCG boot to poweroff", t => t.PowerOff))
            .Concat(Pair("launcher start-up before QEMU's exec", t => t.LauncherStartup, _ => null))
            .Concat(Pair("QEMU exec to guest running (QMP cont)", t => t.GuestRunning - t.LauncherStartup, _ => null))
            .Concat(Pair("QEMU exec to prompt (guest's part)", t => t.Prompt - t.LauncherStartup, t => t.Prompt))
            .Concat(Pair("prompt to exit after poweroff", t => t.PowerOff - t.Prompt))
            .Concat(Pair("CPU ms to prompt: launcher", t => t.LauncherCpu, _ => null))
            .Concat(Pair("CPU ms to prompt: QEMU", t => t.QemuCpu))
            .Concat(Pair("CPU ms to prompt: all processes", t => t.LauncherCpu + t.QemuCpu, t => t.QemuCpu));
    }

    /// <summary>The launcher's QEMU command line with QEMU's own devices in place of ours.</summary>
    private static string[] PeerArguments(string initrd, string image) =>
    [
        "-nodefaults", "-no-user-config", "-display", "none", "-accel", "tcg", "-m", "256",
        "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-M", "pc,memory-backend=mem",
        "-action", "reboot=shutdown,shutdown=poweroff,panic=pause", "-device", "pvpanic-pci",
        "-serial", "null",
        "-device", "virtio-serial-pci", "-chardev", "stdio,id=con,signal=off", "-device", "virtconsole,chardev=con",
        "-kernel", "/vmlinuz", "-initrd", initrd,
        "-append", "console=ttyS0 console=hvc0 lguest.interactive=0 quiet",
        "-drive", $"file={image.Replace(",", ",,", StringComparison.Ordinal)},format=raw,if=virtio",
        "-object", "rng-random,filename=/dev/urandom,id=rng0", "-device", "virtio-rng-pci,rng=rng0",
    ];

    private static Timing Boot(string program, string[] args, TextWriter log, string label, bool launcher)
    {
        ProcessStartInfo start = BenchGuestConsole.ConsoleProcess(program, args);
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var console = new StringBuilder();
        using var ready = new ManualResetEventSlim();
        Task reader = Task.Run(() =>
        {
            char[] buffer = new char[4096];
            int read;
            while ((read = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
            {
                lock (console)
                {
                    console.Append(buffer, 0, read);
                    if (console.ToString().Contains(ReadyLine, StringComparison.Ordinal))
                    {
                        ready.Set();
                    }
                }
            }
        });
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (!ready.Wait(GuestTimeout))
            {
                throw new TimeoutException($"{label}: no ready line within {GuestTimeout.TotalSeconds:0} s\n{console}\n{(process.HasExited ? stderr.Result : "")}");
            }
            double prompt = clock.Elapsed.TotalMilliseconds;
            // Sampled now, before power-off: a reaped process has no /proc entry left to read.
            double? ownCpu = CpuMilliseconds(process.Id);
            double? qemuCpu = launcher ? ChildrenOf(process.Id).Select(CpuMilliseconds).Sum() : ownCpu;
            process.StandardInput.Write("poweroff\n");
            process.StandardInput.Flush();
            if (!process.WaitForExit(GuestTimeout))
            {
                throw new TimeoutException($"{label}: did not power off within {GuestTimeout.TotalSeconds:0} s");
            }
            double off = clock.Elapsed.TotalMilliseconds;
            reader.Wait(TimeSpan.FromSeconds(10));
            string errors = stderr.Result;
            double? startup = Milliseconds(StartupLine().Match(errors));
            double? running = Milliseconds(RunningLine().Match(errors));
            string ourSteps = launcher ? $"QEMU exec {startup:0} ms, guest running {running:0} ms, " : "";
            string ourCpu = launcher ? $"launcher {ownCpu:0} ms, " : "";
            log.WriteLine($"qemu {label}: {ourSteps}prompt {prompt:0} ms, poweroff {off:0} ms, CPU to prompt {ourCpu}QEMU {qemuCpu:0} ms, exit {process.ExitCode}");
            return new Timing(prompt, off, startup, running, launcher ? ownCpu : null, qemuCpu);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
    }

    [GeneratedRegex(@"launcher start-up took (\d+) ms")]
    private static partial Regex StartupLine();

    [GeneratedRegex(@"is running the guest, (\d+) ms after the launcher started")]
    private static partial Regex RunningLine();

    private static double? Milliseconds(Match match) =>
        match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>User plus system time of <paramref name="pid"/> so far, from /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms).</summary>
    private static double? CpuMilliseconds(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The launcher forks QEMU from one of its threads, so its children are listed per thread.</summary>
    private static IEnumerable<int> ChildrenOf(int pid)
    {
        try
        {
            return [.. Directory.EnumerateDirectories($"/proc/{pid}/task")
                .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Select(child => int.Parse(child, CultureInfo.InvariantCulture))];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>
    /// What the README runs, Lguest.Host/bin/Release/net10.0/Lguest.Host.dll, which is ReadyToRun; the copy next to
    /// the runner has the same code but Akka, Serilog and the rest as plain IL, which costs a few hundred ms of JIT
    /// at every start.
    /// </summary>
    private static string? ReleaseBuildOfLauncher()
    {
        string path = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "Lguest.Host", "bin", "Release", "net10.0", "Lguest.Host.dll"));
        return File.Exists(path) ? path : null;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(d => Path.Combine(d.Length == 0 ? "." : d, program)).FirstOrDefault(File.Exists);

    /// <param name="LauncherStartup">From the launcher's start to QEMU's exec (ours only).</param>
    /// <param name="GuestRunning">From the launcher's start to QMP "cont", the guest's first instruction (ours only).</param>
    private sealed record Timing(double Prompt, double PowerOff, double? LauncherStartup, double? GuestRunning, double? LauncherCpu, double? QemuCpu);
}
