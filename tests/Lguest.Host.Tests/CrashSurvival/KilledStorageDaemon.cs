using System.Diagnostics;
using Lguest.Host.Tests.RealGuest;

namespace Lguest.Host.Tests.CrashSurvival;

/// <summary>
/// qemu-storage-daemon exporting one file as vhost-user-blk, SIGKILLed and started again on the same file and socket:
/// the comparison for <see cref="KilledBackend"/>.
/// </summary>
internal sealed class KilledStorageDaemon : IDisposable
{
    private Process? _process;

    public KilledStorageDaemon(string disk, string socket)
    {
        Disk = disk;
        Socket = socket;
    }

    public string Disk { get; }

    public string Socket { get; }

    /// <summary>Whether the current daemon has accepted a front end: it holds a socket besides its listener.</summary>
    public bool Serving
    {
        get
        {
            try
            {
                return Directory.GetFiles($"/proc/{_process!.Id}/fd").Count(fd => new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true) >= 2;
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    public void Start()
    {
        if (File.Exists(Socket))
        {
            File.Delete(Socket);
        }
        var start = new ProcessStartInfo(RealGuestRequirements.StorageDaemonProgram) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[
            "--blockdev", $"driver=file,node-name=disk,filename={QemuGuest.Escape(Disk)}",
            "--export", $"type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path={QemuGuest.Escape(Socket)},writable=on",
        ])
        {
            start.ArgumentList.Add(arg);
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException("qemu-storage-daemon did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(Socket) && !process.HasExited && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }
        Assert.True(File.Exists(Socket), "qemu-storage-daemon did not listen");
    }

    public void Kill()
    {
        Process process = _process!;
        process.Kill();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "the killed qemu-storage-daemon did not exit");
        process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            HostTools.Stop(_process, TimeSpan.FromSeconds(5));
        }
        _process?.Dispose();
    }
}
