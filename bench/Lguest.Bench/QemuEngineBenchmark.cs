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
/// Also the launcher's own start-up before it execs QEMU, from its log line.
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
        string copy = Path.Combine(images.Directory, "disk-qemu-engine.img");
        File.Copy(images.Main, copy, overwrite: true);
        string config = Path.Combine(images.Directory, "qemu-engine.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = qemu
              qemu.accel = tcg
              memory = 256M
              kernel = "/vmlinuz"
              initrd = "{{initrd}}"
              command-line = "quiet"
              devices = [ { type = block, path = "{{images.Main}}" }, { type = rng } ]
            }
            """);

        int boots = options.Quick ? 1 : 3;
        var ours = new List<Timing>();
        var theirs = new List<Timing>();
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        for (int i = 0; i < boots; i++)
        {
            ours.Add(Boot("dotnet", [host, "--config", config], log, "ours"));
            if (!options.NoPeer)
            {
                theirs.Add(Boot(qemu, PeerArguments(initrd, copy), log, "qemu"));
            }
        }

        double oursPrompt = Median(ours.Select(t => t.Prompt));
        double oursOff = Median(ours.Select(t => t.PowerOff));
        yield return new ResultRow("qemu", "TCG boot to prompt", OursName) { StartMilliseconds = oursPrompt };
        if (theirs.Count > 0)
        {
            double p = Median(theirs.Select(t => t.Prompt));
            yield return new ResultRow("qemu", "TCG boot to prompt", TheirsName) { StartMilliseconds = p, Ratio = $"{oursPrompt / p:0.00}x" };
        }
        yield return new ResultRow("qemu", "TCG boot to poweroff", OursName) { StartMilliseconds = oursOff };
        if (theirs.Count > 0)
        {
            double o = Median(theirs.Select(t => t.PowerOff));
            yield return new ResultRow("qemu", "TCG boot to poweroff", TheirsName) { StartMilliseconds = o, Ratio = $"{oursOff / o:0.00}x" };
        }
        if (ours.All(t => t.LauncherStartup is not null))
        {
            yield return new ResultRow("qemu", "launcher start-up before QEMU's exec", OursName)
            {
                StartMilliseconds = Median(ours.Select(t => t.LauncherStartup!.Value)),
            };
        }
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

    private static Timing Boot(string program, string[] args, TextWriter log, string label)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
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
            process.StandardInput.Write("poweroff\n");
            process.StandardInput.Flush();
            if (!process.WaitForExit(GuestTimeout))
            {
                throw new TimeoutException($"{label}: did not power off within {GuestTimeout.TotalSeconds:0} s");
            }
            double off = clock.Elapsed.TotalMilliseconds;
            reader.Wait(TimeSpan.FromSeconds(10));
            double? startup = StartupLine().Match(stderr.Result) is { Success: true } m
                ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
                : null;
            log.WriteLine($"qemu {label}: prompt {prompt:0} ms, poweroff {off:0} ms, exit {process.ExitCode}");
            return new Timing(prompt, off, startup);
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

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(d => Path.Combine(d.Length == 0 ? "." : d, program)).FirstOrDefault(File.Exists);

    private sealed record Timing(double Prompt, double PowerOff, double? LauncherStartup);
}
