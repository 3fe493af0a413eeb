using System.Diagnostics;
using System.Globalization;

namespace Lguest.Bench;

/// <summary>
/// Counts a back end's system calls over exactly one timed measurement, with `perf stat` attached to its process and
/// switched on and off through perf's control fifo (each switch acknowledged), so the count divided by the requests
/// the front end completed in that window is a per-request figure that a loaded machine does not change, unlike a
/// latency. Opt-in (--syscalls): it needs perf and tracepoint access, and attaching costs the measured process a little.
/// </summary>
internal sealed class SyscallCounter : IDisposable
{
    /// <summary>The calls the queue path can make, by tracepoint name; everything else shows up only in the total.</summary>
    private static readonly string[] Named =
    [
        "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_ctl", "read", "write", "preadv", "preadv2", "pwritev", "pwritev2",
        "pread64", "pwrite64", "futex", "sched_yield", "io_uring_enter", "madvise", "mprotect",
    ];

    private const string Total = "raw_syscalls:sys_enter";

    private readonly Process _perf;
    private readonly string _directory;
    private readonly StreamWriter _control;
    private readonly StreamReader _ack;
    private readonly string _output;

    private SyscallCounter(Process perf, string directory, StreamWriter control, StreamReader ack, string output)
    {
        _perf = perf;
        _directory = directory;
        _control = control;
        _ack = ack;
        _output = output;
    }

    /// <summary>Attaches to <paramref name="pid"/> with counting off; null (and a line in <paramref name="log"/>) when perf cannot.</summary>
    public static SyscallCounter? Attach(int pid, TextWriter log)
    {
        string directory = Directory.CreateTempSubdirectory("lguest-syscalls-").FullName;
        string control = Path.Combine(directory, "control");
        string ack = Path.Combine(directory, "ack");
        string output = Path.Combine(directory, "counts");
        using (Process? mkfifo = Process.Start("mkfifo", [control, ack]))
        {
            mkfifo?.WaitForExit();
            if (mkfifo is not { ExitCode: 0 })
            {
                log.WriteLine($"--syscalls: cannot make the control fifos in {directory}");
                return null;
            }
        }
        var start = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardError = true };
        foreach (string arg in new[] { "stat", "-x", ";", "--per-thread", "-D", "-1", "--control", $"fifo:{control},{ack}", "-o", output, "-p", pid.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add(string.Join(',', Named.Select(n => $"syscalls:sys_enter_{n}").Prepend(Total)));
        Process perf;
        try
        {
            perf = Process.Start(start) ?? throw new InvalidOperationException("perf did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            log.WriteLine($"--syscalls: perf is not available ({e.Message})");
            return null;
        }
        perf.ErrorDataReceived += (_, _) => { };
        perf.BeginErrorReadLine();
        // Opening the fifos waits for perf to open its ends, so once both are open it is attached.
        var writer = new StreamWriter(control) { AutoFlush = true };
        var reader = new StreamReader(ack);
        return new SyscallCounter(perf, directory, writer, reader, output);
    }

    public void Enable() => Send("enable");

    public void Disable() => Send("disable");

    /// <summary>
    /// Ends perf and gives the counted calls per request, busiest first: the queue threads' (named "eventfd ...", the
    /// request path) and then the rest of the process's, as "queue threads 3.00 = epoll_wait 1.00 + ...; other threads 0.10 = ...".
    /// </summary>
    public string PerRequest(long requests)
    {
        _ = Tmds.Linux.LibC.kill(_perf.Id, Tmds.Linux.LibC.SIGINT);
        _perf.WaitForExit();
        var queue = new Dictionary<string, long>();
        var other = new Dictionary<string, long>();
        foreach (string line in File.ReadLines(_output))
        {
            // --per-thread -x: "comm-tid;count;unit;event;...", comm as the kernel keeps it (15 bytes).
            string[] fields = line.Split(';');
            if (fields.Length > 3 && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long count))
            {
                Dictionary<string, long> into = fields[0].StartsWith("eventfd", StringComparison.Ordinal) ? queue : other;
                string name = fields[3].Replace("syscalls:sys_enter_", "", StringComparison.Ordinal);
                into[name] = into.GetValueOrDefault(name) + count;
            }
        }
        return $"syscalls/req: queue threads {Summary(queue, requests)}; other threads {Summary(other, requests)}";
    }

    private static string Summary(Dictionary<string, long> counts, long requests)
    {
        double Per(long n) => (double)n / Math.Max(1, requests);
        long total = counts.GetValueOrDefault(Total);
        long named = counts.Where(c => c.Key != Total).Sum(c => c.Value);
        var parts = counts.Where(c => c.Key != Total && Per(c.Value) >= 0.005).OrderByDescending(c => c.Value)
            .Select(c => $"{c.Key} {Per(c.Value):0.00}").ToList();
        if (Per(total - named) >= 0.005)
        {
            parts.Add($"other {Per(total - named):0.00}");
        }
        return parts.Count == 0 ? $"{Per(total):0.00}" : $"{Per(total):0.00} = {string.Join(" + ", parts)}";
    }

    public void Dispose()
    {
        _control.Dispose();
        _ack.Dispose();
        if (!_perf.HasExited)
        {
            _perf.Kill();
            _perf.WaitForExit();
        }
        _perf.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Send(string command)
    {
        _control.WriteLine(command);
        // perf writes "ack\n" and the string's terminating NUL, which starts the next line read here.
        string? answer = _ack.ReadLine()?.Trim('\0', ' ');
        if (answer != "ack")
        {
            throw new InvalidOperationException($"perf did not acknowledge '{command}' (said '{answer}')");
        }
    }
}
