using System.Diagnostics;
using System.Text;

namespace Lguest.Host.Tests.CrashSurvival;

/// <summary>
/// The built Lguest.Host.dll serving one block device over vhost-user, which the test SIGKILLs and starts again on the
/// same disk and socket, as a supervisor would restart a crashed back end.
/// </summary>
internal sealed class KilledBackend : IDisposable
{
    private readonly string _config;
    private readonly StringBuilder _log = new();
    private Process? _process;

    public KilledBackend(int sectors)
    {
        Directory = Path.Combine(Path.GetTempPath(), "lguest-inflight-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        Disk = Path.Combine(Directory, "disk.img");
        using (FileStream disk = File.Create(Disk))
        {
            disk.SetLength(sectors * 512L);     // sparse: the real-guest test's disk is 512 MiB
        }
        Socket = Path.Combine(Directory, "blk.sock");
        _config = Path.Combine(Directory, "backend.hocon");
        File.WriteAllText(_config, $$"""
            lguest {
              engine = vhost-user
              devices = [ { type = block, path = "{{Disk}}", socket = "{{Socket}}" } ]
            }
            """);
    }

    public string Directory { get; }

    public string Disk { get; }

    public string Socket { get; }

    /// <summary>Everything every incarnation printed.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts a new incarnation and waits until it listens (the socket file is new, not the dead one's).</summary>
    public void Start()
    {
        if (File.Exists(Socket))
        {
            File.Delete(Socket);
        }
        Process process = HostProcess.Start([], "--config", _config);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(Socket) && !process.HasExited && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }
        Assert.True(File.Exists(Socket), $"the back end did not listen:\n{Log}");
    }

    /// <summary>How many front ends every incarnation has started serving, from the log.</summary>
    public int Connections
    {
        get
        {
            string log = Log;
            int count = 0;
            for (int at = log.IndexOf("front end connected", StringComparison.Ordinal); at >= 0; at = log.IndexOf("front end connected", at + 1, StringComparison.Ordinal))
            {
                count++;
            }
            return count;
        }
    }

    /// <summary>SIGKILL: no stop message, no GET_VRING_BASE answer, requests cut off wherever they were.</summary>
    public void Kill()
    {
        Process process = _process!;
        process.Kill();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "the killed back end did not exit");
        process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            RealGuest.HostTools.Stop(_process, TimeSpan.FromSeconds(15));
        }
        _process?.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
