using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.QemuEngine;

/// <summary>
/// One run of the built Lguest.Host.dll with engine = qemu, driven as a user would drive it: commands written to its
/// stdin (a pipe, so the guest runs them as a script), its stdout (the guest's console) watched for text, its exit
/// code and last stderr line checked. Every wait is a condition wait with a generous limit; the process tree is
/// killed on dispose, so a failing test leaves no QEMU behind.
/// </summary>
internal sealed class LauncherSession : IDisposable
{
    public const string ReadyLine = "lguest: guest ready";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutReader;
    private readonly Task _stderrReader;
    private readonly ITestOutputHelper? _log;

    private LauncherSession(Process process, ITestOutputHelper? log)
    {
        _process = process;
        _log = log;
        _stdoutReader = Pump(process.StandardOutput, _stdout);
        _stderrReader = Pump(process.StandardError, _stderr);
    }

    public int Pid => _process.Id;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The last line the launcher wrote to stderr: its one-line verdict when it fails.</summary>
    public string LastStderrLine => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    /// <summary>Starts "[WRAPPER...] dotnet Lguest.Host.dll ARGS" with every standard stream a pipe.</summary>
    public static LauncherSession Start(ITestOutputHelper? log, string[] wrapper, params string[] args)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (string arg in wrapper.Length > 0 ? [.. wrapper[1..], dotnet, host, .. args] : new[] { host }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }
        log?.WriteLine($"$ {string.Join(' ', start.ArgumentList)}");
        return new LauncherSession(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"), log);
    }

    public static LauncherSession Start(ITestOutputHelper? log, params string[] args) => Start(log, [], args);

    /// <summary>Writes <paramref name="line"/> and a newline to the guest's console.</summary>
    public void Send(string line)
    {
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    /// <summary>Ends stdin, as the end of a script does.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits until stdout holds <paramref name="text"/> <paramref name="count"/> times; fails with both streams if not.</summary>
    public void WaitForOutput(string text, int count = 1)
    {
        if (!Until(() => Occurrences(Stdout, text) >= count || _process.HasExited) || Occurrences(Stdout, text) < count)
        {
            Assert.Fail($"no {count}x '{text}' on the console{Describe()}");
        }
    }

    /// <summary>Waits until stderr holds <paramref name="text"/>.</summary>
    public void WaitForLog(string text)
    {
        if (!Until(() => Stderr.Contains(text, StringComparison.Ordinal) || _process.HasExited) || !Stderr.Contains(text, StringComparison.Ordinal))
        {
            Assert.Fail($"the launcher never logged '{text}'{Describe()}");
        }
    }

    /// <summary>The console text after the last occurrence of <paramref name="marker"/>, up to the next <paramref name="end"/>.</summary>
    public string OutputBetween(string marker, string end)
    {
        string output = Stdout;
        int start = output.LastIndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{marker}' on the console{Describe()}");
        start += marker.Length;
        int stop = output.IndexOf(end, start, StringComparison.Ordinal);
        return (stop < 0 ? output[start..] : output[start..stop]).Trim();
    }

    /// <summary>Waits for the launcher to exit and returns its exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Patience))
        {
            Assert.Fail($"the launcher did not exit within {Patience.TotalSeconds} s{Describe()}");
        }
        _process.WaitForExit();
        Task.WaitAll([_stdoutReader, _stderrReader], TimeSpan.FromSeconds(10));
        _log?.WriteLine(Describe());
        return _process.ExitCode;
    }

    /// <summary>The QEMU process the launcher started (via setpriv, which execs it, so it is a direct child).</summary>
    public int QemuPid()
    {
        int pid = 0;
        Assert.True(Until(() => (pid = ChildQemu()) != 0), $"no QEMU child of the launcher{Describe()}");
        return pid;
    }

    /// <summary>The runtime directory the launcher logged.</summary>
    public string RuntimeDirectory()
    {
        WaitForLog("runtime directory ");
        string line = Stderr.Split('\n').First(l => l.Contains("runtime directory ", StringComparison.Ordinal));
        return line[(line.IndexOf("runtime directory ", StringComparison.Ordinal) + "runtime directory ".Length)..].Trim();
    }

    public string Describe() => $"\n--- console ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    private int ChildQemu()
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
        {
            string children = File.ReadAllText(Path.Combine(task, "children"));
            foreach (string child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string comm = File.ReadAllText($"/proc/{child}/comm").Trim();
                if (comm.StartsWith("qemu-system", StringComparison.Ordinal))
                {
                    return int.Parse(child, CultureInfo.InvariantCulture);
                }
            }
        }
        return 0;
    }

    private static bool Until(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Patience)
            {
                return false;
            }
            Thread.Sleep(50);
        }
        return true;
    }

    private static int Occurrences(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private static Task Pump(StreamReader reader, StringBuilder into) => Task.Run(async () =>
    {
        char[] buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, read);
            }
        }
    });
}
