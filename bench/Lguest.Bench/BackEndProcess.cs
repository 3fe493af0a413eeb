using System.Diagnostics;
using System.Text;

namespace Lguest.Bench;

/// <summary>
/// A vhost-user-blk back end in its own process, serving one socket per image: ours (the built Lguest.Host.dll with
/// engine = vhost-user, run as a user runs it) or qemu-storage-daemon. Both are child processes so that CPU time,
/// RSS and start-up are measured on the same footing. Dispose stops it with SIGTERM.
/// </summary>
internal sealed class BackEndProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private BackEndProcess(string name, Process process, IReadOnlyList<string> sockets, TimeSpan startup)
    {
        Name = name;
        _process = process;
        Sockets = sockets;
        StartUp = startup;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public IReadOnlyList<string> Sockets { get; }

    /// <summary>From Process.Start to every socket existing: what a front end waiting to connect sees.</summary>
    public TimeSpan StartUp { get; private set; }

    /// <summary>The back end's own CPU time (all threads) when its sockets appeared: start-up cost that a loaded machine does not inflate the way it inflates <see cref="StartUp"/>.</summary>
    public TimeSpan StartUpCpu { get; private set; }

    public static bool PeerAvailable => File.Exists(PeerProgram);

    private static string PeerProgram => "/usr/bin/qemu-storage-daemon";

    /// <summary>Lguest.Host.dll serving <paramref name="images"/> as block devices on sockets in <paramref name="directory"/>.</summary>
    /// <param name="blockKeys">More keys for every block device ("num-queues = 2, poll-max-ns = 32768").</param>
    /// <param name="hostDll">Another build of Lguest.Host.dll (the previous design, built from an older commit).</param>
    public static BackEndProcess StartOurs(string directory, IReadOnlyList<string> images, string name = "ours", string blockKeys = "", string? hostDll = null)
    {
        string tag = new([.. name.Where(char.IsLetterOrDigit)]);
        string[] sockets = images.Select((_, i) => Path.Combine(directory, $"{tag}-{i}.sock")).ToArray();
        var config = new StringBuilder("lguest {\n  engine = vhost-user\n  devices = [\n");
        for (int i = 0; i < images.Count; i++)
        {
            config.Append("    { type = block, path = \"").Append(images[i]).Append("\", socket = \"").Append(sockets[i]).Append('"');
            config.Append(blockKeys.Length > 0 ? ", " + blockKeys : "").Append(" }\n");
        }
        config.Append("  ]\n}\n");
        // For experiments with the runtime's settings (say a different akka.actor.lguest-queue-dispatcher) without
        // touching the product: appended to our back end's config file as it is.
        config.Append(Environment.GetEnvironmentVariable("LGUEST_BENCH_EXTRA_HOCON") ?? "");
        string configPath = Path.Combine(directory, $"{tag}-{images.Count}.hocon");
        File.WriteAllText(configPath, config.ToString());

        string host = hostDll ?? Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        return Start(name, dotnet, [host, "--config", configPath], sockets);
    }

    /// <summary>
    /// qemu-storage-daemon exporting each image as vhost-user-blk, as the real-guest tests' StorageDaemon does;
    /// <paramref name="aio"/> picks the file driver's I/O engine (null: QEMU's default, a thread pool), and
    /// <paramref name="iothread"/> serves the exports on an iothread, which polls adaptively (poll-max-ns 32768):
    /// with aio=io_uring that is its fastest configuration for page-cache I/O.
    /// </summary>
    public static BackEndProcess StartPeer(string directory, IReadOnlyList<string> images, string? aio = null, bool iothread = false, int queues = 1)
    {
        string name = "qemu-storage-daemon" + (iothread ? " iothread" : "") + (aio is null ? "" : $" aio={aio}");
        string tag = "qsd" + (iothread ? "-io" : "") + (aio ?? "");
        string[] sockets = images.Select((_, i) => Path.Combine(directory, $"{tag}-{i}.sock")).ToArray();
        var args = new List<string>();
        if (iothread)
        {
            args.AddRange(["--object", "iothread,id=io0"]);
        }
        for (int i = 0; i < images.Count; i++)
        {
            args.AddRange([
                "--blockdev", $"driver=file,node-name=disk{i},filename={images[i]}{(aio is null ? "" : ",aio=" + aio)}",
                "--export", $"type=vhost-user-blk,id=exp{i},node-name=disk{i},addr.type=unix,addr.path={sockets[i]},writable=on"
                    + (iothread ? ",iothread=io0" : "") + (queues > 1 ? $",num-queues={queues}" : ""),
            ]);
        }
        return Start(name, PeerProgram, args, sockets);
    }

    public ProcessStats Stats() => ProcessStats.Read(Pid);

    public double PeakRssMegabytes() => ProcessStats.PeakRssMegabytes(Pid);

    public long Threads() => ProcessStats.Threads(Pid);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            // SIGTERM, as a service manager would stop either back end; SIGKILL only if that is ignored.
            _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGTERM);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        _process.Dispose();
    }

    private static BackEndProcess Start(string name, string program, IEnumerable<string> args, string[] sockets)
    {
        foreach (string socket in sockets)
        {
            File.Delete(socket);
        }
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        var clock = Stopwatch.StartNew();
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var backEnd = new BackEndProcess(name, process, sockets, TimeSpan.Zero);
        // Both pipes are drained for the process's life: a back end blocked writing a log line would stall the run.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => backEnd.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        while (!sockets.All(File.Exists))
        {
            if (process.HasExited || clock.Elapsed > StartTimeout)
            {
                string exit = process.HasExited ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
                backEnd.Dispose();
                throw new InvalidOperationException($"{name} did not start listening (exit {exit}):\n{backEnd.StderrText()}");
            }
            Thread.Sleep(2);
        }
        backEnd.StartUp = clock.Elapsed;
        backEnd.StartUpCpu = TimeSpan.FromSeconds(ProcessStats.Read(process.Id).CpuSeconds);
        return backEnd;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_stderr)
        {
            // Enough to explain a failure; a chatty back end must not grow the runner without bound.
            if (_stderr.Length < 64 * 1024)
            {
                _stderr.AppendLine(line);
            }
        }
    }

    private string StderrText()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }
}
