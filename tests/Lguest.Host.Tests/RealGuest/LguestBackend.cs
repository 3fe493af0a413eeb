using System.Diagnostics;
using System.Text;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>
/// The built Lguest.Host.dll serving devices over vhost-user, as a user runs it: a config file with
/// engine = vhost-user, started (optionally inside a network namespace) and stopped with SIGTERM.
/// </summary>
internal sealed class LguestBackend : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();
    private readonly Task _reading;

    private LguestBackend(Process process)
    {
        _process = process;
        _reading = Task.WhenAll(Drain(process.StandardOutput, _stdout), Drain(process.StandardError, _stderr));
    }

    /// <summary>Starts the back end on <paramref name="configText"/> and waits until every socket in it exists.</summary>
    public static LguestBackend Start(string directory, string configText, IReadOnlyList<string> sockets, string? networkNamespace = null)
    {
        string config = Path.Combine(directory, "backend.hocon");
        File.WriteAllText(config, configText);
        string[] wrapper = networkNamespace is null ? [] : ["ip", "netns", "exec", networkNamespace];
        var backend = new LguestBackend(HostProcess.Start(wrapper, "--config", config));
        DateTime deadline = DateTime.UtcNow + StartTimeout;
        while (!sockets.All(File.Exists))
        {
            if (backend._process.HasExited || DateTime.UtcNow > deadline)
            {
                backend.Dispose();
                throw new InvalidOperationException(
                    $"the back end did not start listening (exit {(backend._process.HasExited ? backend._process.ExitCode : "none")}):\n{backend.Stderr}");
            }
            Thread.Sleep(20);
        }
        return backend;
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

    /// <summary>SIGTERM, as a user's Ctrl-C or a service manager would; returns the exit code.</summary>
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
            HostTools.Stop(_process, TimeSpan.FromSeconds(5));
        }
        _process.Dispose();
    }

    private static async Task Drain(StreamReader reader, StringBuilder into)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            lock (into)
            {
                into.AppendLine(line);
            }
        }
    }
}
