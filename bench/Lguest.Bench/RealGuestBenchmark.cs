using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Lguest.Bench;

/// <summary>
/// A real Linux guest under QEMU TCG, booting the real-guest tests' kernel and initramfs
/// (scripts/make-test-initramfs.sh, copied next to the runner), with its disk on our back end (Lguest.Host.dll,
/// engine = vhost-user, a child process as in the vhost-user suite) and again on QEMU's built-in virtio-blk
/// (-drive file=IMG,format=raw,if=virtio) over a copy of the same image. Measured: boot to poweroff (QEMU's start
/// to its exit, /init running only blk-size), and the guest's own dd-read/dd-write checks (O_DIRECT, 1 MiB and
/// 4 KiB requests at queue depth 1, timed inside the guest). The QEMU command line is QemuGuest's in the host tests, copied.
/// </summary>
internal static class RealGuestBenchmark
{
    private const string Qemu = "qemu-system-x86_64";
    private const int MemoryMiB = 256;
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromMinutes(3);

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        string? kernel = FindKernel();
        string? qemu = FindOnPath(Qemu);
        string script = Path.Combine(AppContext.BaseDirectory, "make-test-initramfs.sh");
        if (kernel is null || qemu is null)
        {
            log.WriteLine($"realguest: skipped, {(qemu is null ? Qemu + " is not on PATH" : "no /vmlinuz or /boot/vmlinuz-*")}");
            yield break;
        }
        string initramfs = Path.Combine(images.Directory, "initramfs.cpio.gz");
        RunOrThrow("bash", [script, initramfs], TimeSpan.FromSeconds(120));
        // QEMU's drive gets a copy of the image our back end serves, read once so both start in the page cache.
        string copy = Path.Combine(images.Directory, "disk-qemu.img");
        File.Copy(images.Main, copy, overwrite: true);
        using (FileStream file = File.OpenRead(copy))
        {
            file.CopyTo(Stream.Null);
        }

        // Boots are repeated (median kept); each dd case is one boot per target, dd-read then dd-write in it.
        int boots = options.Quick ? 1 : 3;
        DdCase[] cases =
        [
            new("1M", 64, 1 << 20, options.Quick ? 16 : 48),
            new("4k", 8, 4096, options.Quick ? 2 : 6),
        ];
        var ours = new List<GuestRun>();
        var theirs = new List<GuestRun>();
        var oursDd = new List<(double Read, double Write)>();
        var theirsDd = new List<(double Read, double Write)>();
        using (BackEndProcess backEnd = BackEndProcess.StartOurs(images.Directory, [images.Main]))
        {
            string socket = backEnd.Sockets[0];
            string[] device = ["-chardev", $"socket,id=c0,path={Escape(socket)}", "-device", "vhost-user-blk-pci,chardev=c0"];
            for (int i = 0; i < boots; i++)
            {
                ours.Add(Boot(qemu, kernel, initramfs, "blk-size", null, device, log, "ours"));
            }
            oursDd.AddRange(cases.Select(c => Dd(Boot(qemu, kernel, initramfs, "dd-read,dd-write", c, device, log, "ours"))));
        }
        string[] drive = ["-drive", $"file={Escape(copy)},format=raw,if=virtio"];
        for (int i = 0; i < boots; i++)
        {
            theirs.Add(Boot(qemu, kernel, initramfs, "blk-size", null, drive, log, "qemu"));
        }
        theirsDd.AddRange(cases.Select(c => Dd(Boot(qemu, kernel, initramfs, "dd-read,dd-write", c, drive, log, "qemu"))));

        const string OursName = "ours (vhost-user back end)";
        const string TheirsName = "qemu -drive if=virtio";
        double oursBoot = Median(ours), theirsBoot = Median(theirs);
        yield return new ResultRow("realguest", "TCG boot to poweroff", OursName) { StartMilliseconds = oursBoot };
        yield return new ResultRow("realguest", "TCG boot to poweroff", TheirsName)
        {
            StartMilliseconds = theirsBoot,
            Ratio = $"boot {oursBoot / theirsBoot:0.00}x",
        };
        for (int c = 0; c < cases.Length; c++)
        {
            foreach ((string name, double us, double them) in new[] { ("read", oursDd[c].Read, theirsDd[c].Read), ("write", oursDd[c].Write, theirsDd[c].Write) })
            {
                string @case = $"TCG dd {name} bs={cases[c].BlockSize} direct, {cases[c].MiB * cases[c].Passes} MiB";
                // The guest reports MiB/s; the table's MB/s is 10^6 bytes. IOPS only for 4 KiB blocks, one virtio request
                // each: a 1 MiB block may be split into several requests by the guest's block layer.
                yield return new ResultRow("realguest", @case, OursName) { MegabytesPerSecond = us * 1.048576, Iops = Iops(us, cases[c]) };
                yield return new ResultRow("realguest", @case, TheirsName)
                {
                    MegabytesPerSecond = them * 1.048576,
                    Iops = Iops(them, cases[c]),
                    Ratio = $"MB/s {us / them:0.00}x",
                };
            }
        }
    }

    private static double? Iops(double mibPerSecond, DdCase c) => c.Bytes <= 4096 ? mibPerSecond * 1048576 / c.Bytes : null;

    /// <summary>lguest.dd.bs, lguest.dd.mib and lguest.dd.passes for one dd boot.</summary>
    private sealed record DdCase(string BlockSize, int MiB, int Bytes, int Passes);

    private static double Median(List<GuestRun> runs)
    {
        double[] ms = runs.Select(r => r.Elapsed.TotalMilliseconds).Order().ToArray();
        return ms[ms.Length / 2];
    }

    private static (double Read, double Write) Dd(GuestRun run) => (Rate(run, "dd-read"), Rate(run, "dd-write"));

    /// <summary>MiB/s, the first word of "LGUEST-CHECK dd-read MiB/s MiB seconds".</summary>
    private static double Rate(GuestRun run, string check)
    {
        string tag = $"LGUEST-CHECK {check} ";
        string? line = run.Console.Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.Contains(tag, StringComparison.Ordinal));
        string? word = line?[(line.IndexOf(tag, StringComparison.Ordinal) + tag.Length)..].Split(' ')[0];
        if (word is null || !double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate))
        {
            throw new InvalidOperationException($"the guest printed no usable {tag.Trim()} line:\n{run.Describe()}");
        }
        return rate;
    }

    /// <summary>
    /// One guest, QemuGuest's command line: qemu-system-x86_64 -accel tcg -m 256 -M pc,memory-backend=mem
    /// -object memory-backend-memfd,id=mem,size=256M,share=on -nographic -no-reboot -kernel K -initrd I
    /// -append "console=ttyS0 quiet panic=-1 lguest.check=..." DEVICE-ARGS. Elapsed is Process.Start to exit.
    /// </summary>
    private static GuestRun Boot(string qemu, string kernel, string initramfs, string checks, DdCase? dd, string[] device, TextWriter log, string who)
    {
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
        };
        string[] args =
        [
            "-accel", "tcg",
            "-m", MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-M", "pc,memory-backend=mem",
            "-object", $"memory-backend-memfd,id=mem,size={MemoryMiB}M,share=on",
            "-nographic",
            "-no-reboot",
            "-kernel", kernel, "-initrd", initramfs,
            "-append", $"console=ttyS0 quiet panic=-1 lguest.check={checks}"
                + (dd is null ? "" : $" lguest.dd.bs={dd.BlockSize} lguest.dd.mib={dd.MiB} lguest.dd.passes={dd.Passes}"),
            .. device,
        ];
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        var console = new List<string>();
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{qemu} did not start");
        // stdin stays open (and empty): -nographic multiplexes the monitor onto it.
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (console)
                {
                    console.Add(line);
                }
            }
        };
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool exited = process.WaitForExit(GuestTimeout);
        TimeSpan elapsed = clock.Elapsed;
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
        GuestRun run;
        lock (console)
        {
            lock (stderr)
            {
                run = new GuestRun(exited ? process.ExitCode : -1, elapsed, [.. console], stderr.ToString());
            }
        }
        if (!exited || run.ExitCode != 0 || !run.Console.Any(l => l.Contains("LGUEST-DONE", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"the {who} guest did not finish cleanly:\n{run.Describe()}");
        }
        string checkLines = string.Join("; ", run.Console.Where(l => l.Contains("LGUEST-CHECK", StringComparison.Ordinal)).Select(l => l.Trim()));
        log.WriteLine($"realguest {who,-5} {checks,-18} {dd?.BlockSize,-3} {elapsed.TotalSeconds,6:0.00} s  {checkLines}");
        return run;
    }

    private sealed record GuestRun(int ExitCode, TimeSpan Elapsed, IReadOnlyList<string> Console, string Stderr)
    {
        public string Describe() =>
            $"exit {ExitCode}, {Elapsed.TotalSeconds:0.00} s\n--- console ---\n{string.Join('\n', Console)}\n--- stderr ---\n{Stderr}";
    }

    /// <summary>/vmlinuz, else the newest /boot/vmlinuz-*: the kernel the real-guest tests boot (and whose modules the script packs).</summary>
    private static string? FindKernel()
    {
        if (File.Exists("/vmlinuz"))
        {
            return "/vmlinuz";
        }
        return Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault() : null;
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(d => Path.Combine(d.Length == 0 ? "." : d, program)).FirstOrDefault(File.Exists);

    /// <summary>A QEMU option value with its commas doubled.</summary>
    private static string Escape(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    private static void RunOrThrow(string program, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}:\n{stdout.Result}{stderr.Result}");
        }
    }
}
