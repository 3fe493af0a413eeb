using System.Diagnostics;
using System.Globalization;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>Short host commands (ip, kill) the real-guest fixtures run, with their output on failure.</summary>
public static class HostTools
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs <paramref name="program"/> to completion (at most 30 s).</summary>
    public static Result Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within 30 s");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs <paramref name="program"/> and throws with its stderr unless it exits 0.</summary>
    public static string Check(string program, params string[] args)
    {
        Result result = Run(program, args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr.Trim()}");
        }
        return result.Stdout;
    }

    /// <summary>Asks a process to stop with SIGTERM, then kills it if it has not exited within <paramref name="grace"/>.</summary>
    public static void Stop(Process process, TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }
        Run("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
        if (!process.WaitForExit(grace))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            process.WaitForExit();
        }
    }
}

/// <summary>
/// A network namespace holding a persistent tap with the host end's address, for QEMU's own -netdev tap:
/// QEMU runs inside the namespace ("ip netns exec") and opens the tap by name. Dispose deletes both.
/// </summary>
public sealed class TapNamespace : IDisposable
{
    private static int _count;

    public TapNamespace(string hostAddress = "10.78.0.1/24", string tap = "tap0")
    {
        Name = $"lguest-rg-{Environment.ProcessId}-{Interlocked.Increment(ref _count)}";
        Tap = tap;
        HostAddress = hostAddress;
        HostTools.Check("ip", "netns", "add", Name);
        try
        {
            HostTools.Check("ip", "-n", Name, "link", "set", "lo", "up");
            HostTools.Check("ip", "-n", Name, "tuntap", "add", "dev", tap, "mode", "tap");
            HostTools.Check("ip", "-n", Name, "addr", "add", hostAddress, "dev", tap);
            HostTools.Check("ip", "-n", Name, "link", "set", tap, "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }

    public string Tap { get; }

    public string HostAddress { get; }

    /// <summary>-netdev tap on this namespace's tap, and a virtio-net-pci on it.</summary>
    public string[] QemuArgs(string netdev = "n0") =>
        ["-netdev", $"tap,id={netdev},ifname={Tap},script=no,downscript=no", "-device", $"virtio-net-pci,netdev={netdev}"];

    public void Dispose()
    {
        HostTools.Run("ip", "-n", Name, "link", "del", Tap);
        HostTools.Run("ip", "netns", "del", Name);
    }
}

/// <summary>
/// qemu-storage-daemon exporting a raw image as a vhost-user-blk server on a unix socket: QEMU's own
/// vhost-user back end, the peer the harness's vhost-user wiring is proved against. Dispose stops it.
/// </summary>
public sealed class StorageDaemon : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private StorageDaemon(Process process, string socket)
    {
        _process = process;
        Socket = socket;
        _stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
    }

    public string Socket { get; }

    /// <summary>Starts the daemon and returns once its socket exists.</summary>
    public static StorageDaemon ExportVhostUserBlk(string image, string socket, bool writable = true)
    {
        var start = new ProcessStartInfo(RealGuestRequirements.StorageDaemonProgram)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[
            "--blockdev", $"driver=file,node-name=disk,filename={QemuGuest.Escape(image)}",
            "--export", $"type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path={QemuGuest.Escape(socket)},writable={(writable ? "on" : "off")}",
        ])
        {
            start.ArgumentList.Add(arg);
        }
        var daemon = new StorageDaemon(
            Process.Start(start) ?? throw new InvalidOperationException("qemu-storage-daemon did not start"), socket);
        var waited = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            if (daemon._process.HasExited || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                daemon.Dispose();
                throw new InvalidOperationException(
                    $"qemu-storage-daemon did not create {socket} (exit {(daemon._process.HasExited ? daemon._process.ExitCode : "none")}): {daemon._stderr.Result}");
            }
            Thread.Sleep(10);
        }
        return daemon;
    }

    public void Dispose()
    {
        HostTools.Stop(_process, TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
