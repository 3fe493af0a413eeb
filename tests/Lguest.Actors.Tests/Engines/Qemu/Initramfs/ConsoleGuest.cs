using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Lguest.Actors.Tests.Engines.Qemu.Initramfs;

/// <summary>
/// A guest booted under QEMU (TCG) with QEMU's own virtio devices and a virtconsole whose chardev is a socket
/// this test connects to, as the launcher's console would: what the built initramfs offers a launcher, without
/// the launcher. The serial port (kernel messages, busybox init's) goes to a file for the failure message.
/// </summary>
internal sealed class ConsoleGuest : IDisposable
{
    private readonly Process _qemu;
    private readonly Socket _console;
    private readonly StringBuilder _received = new();
    private readonly string _directory;
    private readonly Task _reader;

    private ConsoleGuest(Process qemu, Socket console, string directory)
    {
        _qemu = qemu;
        _console = console;
        _directory = directory;
        _reader = Task.Run(ReadConsole);
    }

    public string Serial => File.Exists(SerialPath) ? File.ReadAllText(SerialPath) : "";

    private string SerialPath => Path.Combine(_directory, "serial.log");

    /// <summary>Everything the console has sent so far.</summary>
    public string Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToString();
            }
        }
    }

    public static ConsoleGuest Boot(string initramfs, string disk, string commandLine)
    {
        string directory = Directory.CreateTempSubdirectory("lguest-initramfs-boot-").FullName;
        string socket = Path.Combine(directory, "console.sock");
        var start = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[
            "-accel", "tcg", "-m", "256", "-nodefaults", "-no-user-config", "-display", "none",
            "-action", "reboot=shutdown",
            "-kernel", "/vmlinuz", "-initrd", initramfs, "-append", commandLine,
            "-serial", $"file:{Path.Combine(directory, "serial.log")}",
            "-device", "virtio-serial-pci",
            "-chardev", $"socket,id=con,path={socket},server=on,wait=off",
            "-device", "virtconsole,chardev=con",
            "-drive", $"file={disk},format=raw,if=virtio",
            "-device", "virtio-rng-pci",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,romfile=",
            "-device", "pvpanic-pci"])
        {
            start.ArgumentList.Add(arg);
        }
        Process qemu = Process.Start(start)!;
        var console = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                console.Connect(new UnixDomainSocketEndPoint(socket));
                break;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30) && !qemu.HasExited)
            {
                Thread.Sleep(50);
            }
        }
        return new ConsoleGuest(qemu, console, directory);
    }

    /// <summary>Waits until the console has sent <paramref name="text"/>; false when the time is up or QEMU exited.</summary>
    public bool WaitFor(string text, TimeSpan limit)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < limit)
        {
            if (Received.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }
            if (_reader.IsCompleted)
            {
                return Received.Contains(text, StringComparison.Ordinal);
            }
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>Everything received after the first <paramref name="marker"/>.</summary>
    public string After(string marker)
    {
        string all = Received;
        int at = all.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? "" : all[(at + marker.Length)..];
    }

    public void Send(string text) => _console.Send(Encoding.UTF8.GetBytes(text));

    /// <summary>QEMU's exit status, or null when it is still running after <paramref name="limit"/>.</summary>
    public int? WaitForExit(TimeSpan limit) => _qemu.WaitForExit(limit) ? _qemu.ExitCode : null;

    public string Describe() => $"console:\n{Received}\nserial:\n{Serial}";

    public void Dispose()
    {
        if (!_qemu.HasExited)
        {
            _qemu.Kill(entireProcessTree: true);
            _qemu.WaitForExit();
        }
        _console.Dispose();
        _qemu.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void ReadConsole()
    {
        byte[] buffer = new byte[4096];
        try
        {
            int read;
            while ((read = _console.Receive(buffer)) > 0)
            {
                lock (_received)
                {
                    _received.Append(Encoding.UTF8.GetString(buffer, 0, read));
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // QEMU went away or the test is over: the text so far is what there is.
        }
    }
}
