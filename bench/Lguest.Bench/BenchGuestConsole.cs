using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Lguest.Bench;

/// <summary>
/// A real guest's console in script mode (the built initramfs with lguest.interactive=0), whether the launcher runs
/// it or a bare QEMU with its console on stdio: commands go to stdin, and each answer is read back between markers
/// of its own. stderr is drained (a launcher logs there) so the process never blocks on it. Disposing kills the
/// whole process tree, so a failed run leaves no QEMU behind.
/// </summary>
internal sealed class BenchGuestConsole : IDisposable
{
    private const string ReadyLine = "lguest: guest ready";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private readonly Process _process;
    private readonly StringBuilder _console = new();
    private readonly StringBuilder _stderr = new();
    private readonly string _name;
    private int _commands;

    private BenchGuestConsole(Process process, string name)
    {
        _process = process;
        _name = name;
        _ = Pump(process.StandardOutput, _console);
        _ = Pump(process.StandardError, _stderr);
    }

    public static BenchGuestConsole Start(string name, string program, IEnumerable<string> args)
    {
        ProcessStartInfo start = ConsoleProcess(program, args);
        return new BenchGuestConsole(Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start"), name);
    }

    /// <summary>A guest (or launcher) whose console is its stdin and stdout; Latin-1 so no byte of it is ever lost.</summary>
    public static ProcessStartInfo ConsoleProcess(string program, IEnumerable<string> args)
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
        return start;
    }

    public void WaitUntilReady() => WaitFor(ReadyLine);

    /// <summary>Runs <paramref name="command"/> in the guest's shell and returns its output, trimmed.</summary>
    public string Run(string command)
    {
        string token = string.Create(CultureInfo.InvariantCulture, $"{_name}{++_commands}");
        // "$( (" not "$((": a command that opens with a subshell must not read as arithmetic.
        _process.StandardInput.Write($"echo \"<{token}>$( {command} )</{token}>\"\n");
        _process.StandardInput.Flush();
        WaitFor($"</{token}>");
        string output = Console;
        int start = output.LastIndexOf($"<{token}>", StringComparison.Ordinal) + token.Length + 2;
        return output[start..output.LastIndexOf($"</{token}>", StringComparison.Ordinal)].Trim();
    }

    /// <summary>poweroff -f, then waits for the process to end.</summary>
    public void PowerOff()
    {
        _process.StandardInput.Write("poweroff -f\n");
        _process.StandardInput.Flush();
        if (!_process.WaitForExit(Patience))
        {
            throw new TimeoutException($"{_name}: did not power off within {Patience.TotalSeconds:0} s");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    private string Console
    {
        get
        {
            lock (_console)
            {
                return _console.ToString();
            }
        }
    }

    private void WaitFor(string text)
    {
        var clock = Stopwatch.StartNew();
        while (!Console.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited || clock.Elapsed > Patience)
            {
                string errors;
                lock (_stderr)
                {
                    errors = _stderr.ToString();
                }
                throw new TimeoutException($"{_name}: no '{text}' on the console\n--- console ---\n{Console}\n--- stderr ---\n{errors}");
            }
            Thread.Sleep(20);
        }
    }

    private static Task Pump(StreamReader reader, StringBuilder into) => Task.Run(() =>
    {
        char[] buffer = new char[4096];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, read);
            }
        }
    });
}
