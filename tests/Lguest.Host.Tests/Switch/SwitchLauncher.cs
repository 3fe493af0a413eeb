using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lguest.Host.Tests.RealGuest;

namespace Lguest.Host.Tests.Switch;

/// <summary>
/// The built Lguest.Host.dll as a switch: engine = vhost-user, one switch, one port socket per guest, as a user runs
/// it. It may run as another user (<see cref="Unprivileged"/>: setpriv to nobody, no capabilities) and inside a
/// network namespace (for an uplink tap that collides with nothing). Stopped with SIGTERM, killed on dispose.
/// </summary>
internal sealed class SwitchLauncher : IDisposable
{
    private const int Nobody = 65534;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _reading;

    private SwitchLauncher(Process process)
    {
        _process = process;
        _reading = Task.WhenAll(Drain(process.StandardOutput, null), Drain(process.StandardError, _stderr));
    }

    /// <summary>As nobody when the tests run as root (so the switch provably needs no privilege); as is otherwise.</summary>
    public static string[] Unprivileged => Environment.IsPrivilegedProcess
        ? ["setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups"]
        : [];

    public int Pid => _process.Id;

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

    /// <summary>Writes <paramref name="configText"/> next to the sockets, starts the switch, and waits until every port listens.</summary>
    public static SwitchLauncher Start(string directory, string configText, IReadOnlyList<string> sockets, string[] wrapper)
    {
        string config = Path.Combine(directory, "switch.hocon");
        File.WriteAllText(config, configText);
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        var start = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        // nobody's home does not exist; the runtime wants one it can write to.
        start.Environment["HOME"] = directory;
        foreach (string arg in (string[])[.. wrapper.Skip(1), .. wrapper.Length > 0 ? [dotnet] : Array.Empty<string>(), host, "--config", config])
        {
            start.ArgumentList.Add(arg);
        }
        var launcher = new SwitchLauncher(Process.Start(start) ?? throw new InvalidOperationException("the switch did not start"));
        launcher._process.StandardInput.Close();
        DateTime deadline = DateTime.UtcNow + StartTimeout;
        while (!sockets.All(File.Exists))
        {
            if (launcher._process.HasExited || DateTime.UtcNow > deadline)
            {
                launcher.Dispose();
                throw new InvalidOperationException(
                    $"the switch did not listen on its ports (exit {(launcher._process.HasExited ? launcher._process.ExitCode : "none")}):\n{launcher.Stderr}");
            }
            Thread.Sleep(20);
        }
        return launcher;
    }

    /// <summary>The effective uid and capabilities the switch process runs with, from /proc (setpriv execs, so the pid is the launcher's).</summary>
    public (int EffectiveUid, ulong EffectiveCapabilities) Credentials()
    {
        string[] status = File.ReadAllLines($"/proc/{_process.Id.ToString(CultureInfo.InvariantCulture)}/status");
        string uid = status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        string caps = status.Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return (int.Parse(uid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture),
            ulong.Parse(caps.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    public bool HasExited => _process.HasExited;

    /// <summary>SIGTERM, as a user's Ctrl-C would; returns the exit code.</summary>
    public int Stop()
    {
        HostTools.Stop(_process, TimeSpan.FromSeconds(15));
        _reading.Wait(TimeSpan.FromSeconds(5));
        return _process.ExitCode;
    }

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

    private static async Task Drain(StreamReader reader, StringBuilder? into)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (into is not null)
            {
                lock (into)
                {
                    into.AppendLine(line);
                }
            }
        }
    }
}
