using System.Diagnostics;
using System.Text;

namespace Lguest.Host.Tests.Hostile;

/// <summary>
/// The built Lguest.Host.dll serving one block device over vhost-user, as a user runs it, for attackers to hit:
/// its process id (threads, fds, RSS and CPU are read from /proc), whether it is still up, and what it logged.
/// </summary>
internal sealed class HostileBackend : IDisposable
{
    public const int DiskSectors = 2048;

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _reading;

    public HostileBackend(string supervision = "guest-errors = restart-device, max-restarts = 1000000")
    {
        Directory = Path.Combine(Path.GetTempPath(), "lguest-hostile-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        Disk = Path.Combine(Directory, "disk.img");
        byte[] image = new byte[DiskSectors * 512];
        for (int sector = 0; sector < DiskSectors; sector++)
        {
            image[sector * 512] = (byte)sector;
        }
        File.WriteAllBytes(Disk, image);
        Socket = Path.Combine(Directory, "blk.sock");
        string config = Path.Combine(Directory, "backend.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = vhost-user
              supervision { {{supervision}} }
              devices = [ { type = block, path = "{{Disk}}", socket = "{{Socket}}" } ]
            }
            """);
        _process = HostProcess.Start([], "--config", config);
        _reading = Task.WhenAll(Drain(_process.StandardOutput), Drain(_process.StandardError));
        Assert.True(WaitUntil(() => File.Exists(Socket) || _process.HasExited, TimeSpan.FromSeconds(60)), "the back end did not start listening");
        Assert.False(_process.HasExited, $"the back end exited at start:\n{Stderr}");
    }

    public string Directory { get; }

    public string Disk { get; }

    public string Socket { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for the process to exit and for everything it printed to be read; false on timeout.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout) && _reading.Wait(timeout);

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

    /// <summary>How many front ends the back end has started serving, from its log.</summary>
    public int Connections
    {
        get
        {
            string log = Stderr;
            int count = 0;
            for (int at = log.IndexOf("front end connected", StringComparison.Ordinal); at >= 0; at = log.IndexOf("front end connected", at + 1, StringComparison.Ordinal))
            {
                count++;
            }
            return count;
        }
    }

    public int Threads => System.IO.Directory.GetDirectories($"/proc/{Pid}/task").Length;

    public int OpenFds => System.IO.Directory.GetFiles($"/proc/{Pid}/fd").Length;

    public long RssBytes => long.Parse(
        File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
        System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>User plus system CPU time the process has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            string stat = File.ReadAllText($"/proc/{Pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
    }

    /// <summary>
    /// The check after every attack: the process is still up and a well-behaved front end that connects now gets the
    /// handshake and the device's configuration (once the attacker's connection is released).
    /// </summary>
    public void AssertServesNextFrontEnd()
    {
        Assert.False(_process.HasExited, $"the back end died (exit {(_process.HasExited ? _process.ExitCode : 0)}):\n{Stderr}");
        using VhostUserAttacker next = VhostUserAttacker.Connect(Socket);
        next.Handshake();
        Assert.Equal((ulong)DiskSectors, next.Capacity());
        Assert.False(_process.HasExited);
    }

    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            Thread.Sleep(20);
        }
        return true;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            RealGuest.HostTools.Stop(_process, TimeSpan.FromSeconds(15));
        }
        _reading.Wait(TimeSpan.FromSeconds(5));
        _process.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private async Task Drain(StreamReader reader)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            lock (_stderr)
            {
                _stderr.AppendLine(line);
            }
        }
    }
}
