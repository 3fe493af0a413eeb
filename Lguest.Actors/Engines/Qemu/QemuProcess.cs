using System.Diagnostics;
using Akka.Actor;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The QEMU child. It must never outlive the launcher, whichever way the launcher ends: QEMU runs under
/// "setpriv --pdeathsig KILL", and the kernel sends that signal when the *thread* that forked it exits. So one
/// dedicated thread forks QEMU and then waits for it, living exactly as long as QEMU does; a launcher killed with
/// SIGKILL takes that thread, and so QEMU, with it. Every orderly path also quits or kills QEMU and reaps it.
/// </summary>
internal sealed class QemuProcess : IDisposable
{
    private const int StderrTailLines = 20;

    private readonly IActorRef _owner;
    private readonly Thread _thread;
    private readonly Queue<string> _stderrTail = new();
    private readonly ManualResetEventSlim _started = new();
    private readonly ManualResetEventSlim _exited = new();
    private Process? _process;
    private Exception? _startFailure;

    private QemuProcess(string binary, IReadOnlyList<string> args, IActorRef owner)
    {
        _owner = owner;
        _thread = new Thread(() => Run(binary, args)) { IsBackground = true, Name = "qemu reaper" };
    }

    public int Pid { get; private set; }

    /// <summary>When QEMU was exec'd (after setpriv), for the start-up figures.</summary>
    public DateTime StartedAt { get; private set; }

    /// <summary>Starts QEMU on its own thread and waits until it has been forked (or failed to be).</summary>
    public static QemuProcess Start(string binary, IReadOnlyList<string> args, IActorRef owner)
    {
        var process = new QemuProcess(binary, args, owner);
        process._thread.Start();
        process._started.Wait();
        if (process._startFailure is { } failure)
        {
            process.Dispose();
            throw new InvalidOperationException($"QEMU ({binary}) did not start: {failure.Message}", failure);
        }
        return process;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for QEMU to exit by itself.</summary>
    public bool WaitForExit(TimeSpan timeout) => _exited.Wait(timeout);

    /// <summary>SIGKILL, then reap: the last resort of every exit path.</summary>
    public void Kill()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
        _exited.Wait(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        Kill();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(10));
        }
        _process?.Dispose();
        _started.Dispose();
        _exited.Dispose();
    }

    private void Run(string binary, IReadOnlyList<string> args)
    {
        Process process;
        try
        {
            process = new Process { StartInfo = StartInfo(binary, args) };
            process.ErrorDataReceived += (_, e) => OnStderr(e.Data);
            process.OutputDataReceived += (_, _) => { };
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            _process = process;
            Pid = process.Id;
            StartedAt = DateTime.UtcNow;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            _startFailure = e;
            _exited.Set();
            _started.Set();
            return;
        }
        _started.Set();

        // Returns once QEMU has exited and its stdout and stderr are read to the end.
        process.WaitForExit();
        string tail;
        lock (_stderrTail)
        {
            tail = string.Join(" | ", _stderrTail);
        }
        int status = process.ExitCode;
        _exited.Set();
        _owner.Tell(new QemuMessages.QemuExited(Pid, status, tail));
    }

    private void OnStderr(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }
        lock (_stderrTail)
        {
            _stderrTail.Enqueue(line);
            if (_stderrTail.Count > StderrTailLines)
            {
                _stderrTail.Dequeue();
            }
        }
        _owner.Tell(new QemuMessages.QemuStderr(line));
    }

    /// <summary>setpriv (util-linux) when it is there; otherwise QEMU directly, still killed and reaped on every orderly exit.</summary>
    private static ProcessStartInfo StartInfo(string binary, IReadOnlyList<string> args)
    {
        string? setpriv = QemuBinary.Find("setpriv");
        var start = new ProcessStartInfo(setpriv ?? binary)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (setpriv is not null)
        {
            foreach (string arg in new[] { "--pdeathsig", "KILL", "--", binary })
            {
                start.ArgumentList.Add(arg);
            }
        }
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return start;
    }

    /// <summary>Describes an exit status as the user should read it ("killed by signal 9" rather than 137).</summary>
    public static string DescribeStatus(int status) =>
        status > 128 && status < 128 + 65 ? $"was killed by signal {status - 128}" : $"exited with status {status}";
}
