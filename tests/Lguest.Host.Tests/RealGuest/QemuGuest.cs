using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>
/// One real guest: qemu-system-x86_64 under TCG booting the test kernel and initramfs, with vhost-user devices
/// (or QEMU's own, through <see cref="Args"/>). The command line is the project's:
/// <code>
/// qemu-system-x86_64 -accel tcg -m 256 -M pc,memory-backend=mem
///   -object memory-backend-memfd,id=mem,size=256M,share=on -nographic [-no-reboot]
///   -kernel KERNEL -initrd INITRAMFS -append "console=ttyS0 quiet panic=-1 lguest.check=... lguest.K=V ..."
///   [-chardev socket,id=cN,path=SOCK -device vhost-user-blk-pci,chardev=cN]
///   [-chardev socket,id=cN,path=SOCK -device vhost-user-rng-pci,chardev=cN]
///   [-chardev socket,id=cN,path=SOCK -netdev vhost-user,id=nN,chardev=cN -device virtio-net-pci,netdev=nN]
///   [ARGS...]
/// </code>
/// Shared, memfd-backed guest RAM is what lets a vhost-user back end map the rings. <see cref="RunAsync"/>
/// starts QEMU as a child (under "ip netns exec NS" when <see cref="NetworkNamespace"/> is set), reads the
/// serial console, parses the guest's LGUEST-* lines, kills the process tree on timeout, and always reaps it.
/// </summary>
public sealed class QemuGuest
{
    private readonly List<string> _checks = [];
    private readonly List<KeyValuePair<string, string>> _parameters = [];
    private readonly List<string> _deviceArgs = [];
    private readonly List<string> _extraArgs = [];
    private int _chardevs;
    private int _netdevs;

    public QemuGuest(string initramfs, string? kernel = null)
    {
        Initramfs = initramfs;
        Kernel = kernel ?? RealGuestRequirements.Kernel;
    }

    public string Kernel { get; }

    public string Initramfs { get; }

    /// <summary>Guest RAM in MiB: -m and the memfd backend's size.</summary>
    public int MemoryMiB { get; init; } = 256;

    /// <summary>The longest the guest may run before its process tree is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Leave out -no-reboot, so a guest reboot restarts it (lguest.reboot=once) instead of ending QEMU.</summary>
    public bool AllowReboot { get; init; }

    /// <summary>Run QEMU inside this network namespace ("ip netns exec NAME qemu-system-x86_64 ...").</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Gets every console line as it arrives (after it is recorded), on a reader thread.</summary>
    public Action<string>? OnConsoleLine { get; init; }

    /// <summary>Where to log the command line, the console and the run's time; null for nowhere.</summary>
    public ITestOutputHelper? Log { get; init; }

    /// <summary>Adds checks to lguest.check, run by the guest in the order added.</summary>
    public QemuGuest Check(params string[] checks)
    {
        _checks.AddRange(checks);
        return this;
    }

    /// <summary>Adds lguest.<paramref name="key"/>=<paramref name="value"/> to the kernel command line.</summary>
    public QemuGuest Param(string key, string value)
    {
        if (key.Any(char.IsWhiteSpace) || value.Any(char.IsWhiteSpace) || value.Length == 0)
        {
            throw new ArgumentException($"lguest.{key}={value}: kernel parameters are single non-empty words");
        }
        _parameters.Add(new(key, value));
        return this;
    }

    /// <summary>Adds lguest.<paramref name="key"/>=<paramref name="value"/> to the kernel command line.</summary>
    public QemuGuest Param(string key, long value) => Param(key, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A vhost-user-blk-pci device whose back end listens on <paramref name="socket"/>.</summary>
    public QemuGuest VhostUserBlk(string socket)
    {
        string chardev = Chardev(socket);
        _deviceArgs.AddRange(["-device", $"vhost-user-blk-pci,chardev={chardev}"]);
        return this;
    }

    /// <summary>A vhost-user-rng-pci device whose back end listens on <paramref name="socket"/>.</summary>
    public QemuGuest VhostUserRng(string socket)
    {
        string chardev = Chardev(socket);
        _deviceArgs.AddRange(["-device", $"vhost-user-rng-pci,chardev={chardev}"]);
        return this;
    }

    /// <summary>A virtio-net-pci device on a vhost-user netdev whose back end listens on <paramref name="socket"/>.</summary>
    public QemuGuest VhostUserNet(string socket)
    {
        string chardev = Chardev(socket);
        string netdev = $"n{_netdevs++}";
        // vectors=0 (INTx, no MSI-X): under TCG, QEMU 7.2 segfaults in vhost_net_start while it sets up MSI-X vector
        // notifiers for a vhost-user net device (msix_set_vector_notifiers; seen here with gdb, before any message
        // of ours could matter). vhost-user-blk and -rng are unaffected. No option ROM: the guest boots from -kernel.
        _deviceArgs.AddRange(["-netdev", $"vhost-user,id={netdev},chardev={chardev}", "-device", $"virtio-net-pci,netdev={netdev},romfile=,vectors=0"]);
        return this;
    }

    /// <summary>QEMU's own virtio-blk on a raw file: the baseline the vhost-user block tests mirror.</summary>
    public QemuGuest VirtioDrive(string image) => Args("-drive", $"file={Escape(image)},format=raw,if=virtio");

    /// <summary>Arguments appended as they are, after the vhost-user devices.</summary>
    public QemuGuest Args(params string[] args)
    {
        _extraArgs.AddRange(args);
        return this;
    }

    /// <summary>The kernel command line: console=ttyS0 quiet panic=-1, then lguest.check and the parameters.</summary>
    public string KernelCommandLine
    {
        get
        {
            var line = new StringBuilder("console=ttyS0 quiet panic=-1");
            if (_checks.Count > 0)
            {
                line.Append(" lguest.check=").AppendJoin(',', _checks);
            }
            foreach ((string key, string value) in _parameters)
            {
                line.Append(" lguest.").Append(key).Append('=').Append(value);
            }
            return line.ToString();
        }
    }

    /// <summary>The program started: qemu-system-x86_64, or ip for a network namespace.</summary>
    public string FileName => NetworkNamespace is null ? RealGuestRequirements.Qemu : "ip";

    /// <summary>Every argument after <see cref="FileName"/>.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string>();
        if (NetworkNamespace is not null)
        {
            args.AddRange(["netns", "exec", NetworkNamespace, RealGuestRequirements.Qemu]);
        }
        args.AddRange([
            "-accel", "tcg",
            "-m", MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-M", "pc,memory-backend=mem",
            "-object", $"memory-backend-memfd,id=mem,size={MemoryMiB}M,share=on",
            "-nographic",
        ]);
        if (!AllowReboot)
        {
            args.Add("-no-reboot");
        }
        args.AddRange(["-kernel", Kernel, "-initrd", Initramfs, "-append", KernelCommandLine]);
        args.AddRange(_deviceArgs);
        args.AddRange(_extraArgs);
        return args;
    }

    /// <summary>The command line as a shell would show it, for logs.</summary>
    public string CommandLine => string.Join(' ', new[] { FileName }.Concat(Arguments().Select(Quote)));

    /// <summary>Boots the guest and waits for QEMU to exit or <see cref="Timeout"/> to pass.</summary>
    public async Task<GuestRun> RunAsync(CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
        };
        foreach (string arg in Arguments())
        {
            start.ArgumentList.Add(arg);
        }
        Log?.WriteLine($"$ {CommandLine}");

        var console = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{FileName} did not start");
        bool timedOut = false;
        try
        {
            // stdin stays open (and empty) while the guest runs: -nographic multiplexes the monitor onto it.
            Task reader = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    lock (console)
                    {
                        console.Add(line);
                    }
                    OnConsoleLine?.Invoke(line);
                }
            }, CancellationToken.None);
            Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = !cancellationToken.IsCancellationRequested;
                Kill(process);
                await process.WaitForExitAsync(CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
            }
            await reader;
            TimeSpan elapsed = stopwatch.Elapsed;
            string[] lines;
            lock (console)
            {
                lines = [.. console];
            }
            var run = GuestRun.Parse(process.ExitCode, timedOut, elapsed, lines, await stderr);
            Log?.WriteLine(run.Describe());
            return run;
        }
        finally
        {
            if (!process.HasExited)
            {
                Kill(process);
                process.WaitForExit();
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
    }

    /// <summary>vhost-user chardevs reconnect (reconnect=1) when their back end goes away, for crash-survival tests.</summary>
    public bool Reconnect { get; init; }

    private string Chardev(string socket)
    {
        string id = $"c{_chardevs++}";
        _deviceArgs.AddRange(["-chardev", $"socket,id={id},path={Escape(socket)}{(Reconnect ? ",reconnect=1" : "")}"]);
        return id;
    }

    /// <summary>A QEMU option value with its commas doubled, as QEMU's option parser wants them.</summary>
    public static string Escape(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./,=:+@%".Contains(c, StringComparison.Ordinal))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>One LGUEST-CHECK line: the check's name, the rest of the line, and the boot (1 or 2) that printed it.</summary>
public sealed record GuestCheck(string Name, string Value, int Boot);

/// <summary>What a guest did: QEMU's exit, the console, and the guest's LGUEST-* lines.</summary>
public sealed record GuestRun(
    int ExitCode,
    bool TimedOut,
    TimeSpan Elapsed,
    IReadOnlyList<string> Console,
    string Stderr,
    IReadOnlyList<GuestCheck> Checks,
    IReadOnlyList<int> Boots,
    bool Done)
{
    private const string CheckTag = "LGUEST-CHECK ";
    private const string BootTag = "LGUEST-BOOT ";
    private const string DoneTag = "LGUEST-DONE";

    /// <summary>
    /// Reads the guest's lines out of a console. A tag counts wherever it starts on a line, since firmware
    /// escape sequences can precede the first line /init prints.
    /// </summary>
    public static GuestRun Parse(int exitCode, bool timedOut, TimeSpan elapsed, IReadOnlyList<string> console, string stderr)
    {
        var checks = new List<GuestCheck>();
        var boots = new List<int>();
        bool done = false;
        int boot = 0;
        foreach (string raw in console)
        {
            string line = raw.TrimEnd('\r', ' ');
            int at;
            if ((at = line.IndexOf(BootTag, StringComparison.Ordinal)) >= 0
                && int.TryParse(line.AsSpan(at + BootTag.Length), NumberStyles.None, CultureInfo.InvariantCulture, out boot))
            {
                boots.Add(boot);
            }
            else if ((at = line.IndexOf(CheckTag, StringComparison.Ordinal)) >= 0)
            {
                string rest = line[(at + CheckTag.Length)..];
                int space = rest.IndexOf(' ', StringComparison.Ordinal);
                checks.Add(space < 0 ? new GuestCheck(rest, "", boot) : new GuestCheck(rest[..space], rest[(space + 1)..], boot));
            }
            else if (line.Contains(DoneTag, StringComparison.Ordinal))
            {
                done = true;
            }
        }
        return new GuestRun(exitCode, timedOut, elapsed, console, stderr, checks, boots, done);
    }

    /// <summary>The value of the one <paramref name="name"/> check in <paramref name="boot"/> (default: the last boot).</summary>
    public string Check(string name, int? boot = null)
    {
        int wanted = boot ?? (Boots.Count == 0 ? 0 : Boots[^1]);
        GuestCheck[] found = [.. Checks.Where(c => c.Name == name && c.Boot == wanted)];
        if (found.Length != 1)
        {
            Assert.Fail($"expected one LGUEST-CHECK {name} in boot {wanted}, found {found.Length}\n{Describe()}");
        }
        return found[0].Value;
    }

    /// <summary>Fails the test unless QEMU exited 0 on its own after the guest printed LGUEST-DONE.</summary>
    public GuestRun EnsureDone()
    {
        if (TimedOut || ExitCode != 0 || !Done)
        {
            Assert.Fail($"the guest did not finish cleanly\n{Describe()}");
        }
        return this;
    }

    /// <summary>A summary with the whole console and QEMU's stderr, for failure messages and logs.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"qemu exit {ExitCode}{(TimedOut ? " (killed: timeout)" : "")}, ");
        text.Append(CultureInfo.InvariantCulture, $"{Elapsed.TotalSeconds:F2} s, boots [{string.Join(',', Boots)}], done {Done}\n");
        text.AppendLine("--- console ---");
        foreach (string line in Console)
        {
            text.AppendLine(line.TrimEnd('\r'));
        }
        if (Stderr.Length > 0)
        {
            text.AppendLine("--- stderr ---").Append(Stderr);
        }
        return text.ToString();
    }
}
