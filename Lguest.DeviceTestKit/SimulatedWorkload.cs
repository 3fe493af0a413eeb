using System.Text;
using Lguest.Actors.Configuration;

namespace Lguest.DeviceTestKit;

/// <summary>
/// The simulated /init: exercises each device once, as <see cref="WorkloadOptions"/> says, and prints one line per
/// result to the first virtio console (the early console when there is none). The lines are an interface: tests
/// and end-to-end runs match them exactly.
/// <code>
/// sim: init started (boot N)
/// CONSOLE-ECHO                                  (simulated.console-echo, when not empty)
/// echo: LINE | echo: timeout                    (sim.console-echo=N)
/// block: vdX C sectors
/// block: vdX id ID | block: vdX id unsupported (status S)            (sim.block=read)
/// block: vdX read sector 0 OK | ... FAIL (status S) | ... skipped (empty)
/// block: vdX write-read OK | ... FAIL (WHY) | ... skipped (read-only) (sim.block=write-read)
/// block: vdX flushed N, for N = 0, 1, 2, ...                 (sim.block=flush-loop: for ever while the disk works)
/// block: vdX flush-loop FAIL (WHY) | ... skipped (WHY)      (only then does the workload go on)
/// rng: read N bytes
/// net: ethX mac aa:bb:cc:dd:ee:ff               (when the device has a MAC)
/// net: ethX sent 60 bytes                       (sim.net=send)
/// net: ethX echoed L bytes | net: ethX receive timeout              (sim.net=echo:N)
/// net: ethX arp reply from HOST is-at MAC | net: ethX arp timeout    (sim.net=ping:HOST)
/// net: ethX ping HOST OK | net: ethX ping HOST timeout               (sim.net=ping:HOST, after the ARP reply)
/// sim: rebooting | sim: power off               (printed by SimulatedLinux)
/// </code>
/// </summary>
public sealed class SimulatedWorkload
{
    /// <summary>The test frame: broadcast, from a locally administered address, EtherType 0x88B5 (local experimental).</summary>
    public const int TestFrameLength = 60;

    private readonly WorkloadOptions _options;
    private readonly SimulatedSettings _settings;
    private readonly SimulatedDrivers _drivers;
    private readonly Action<string> _print;

    public SimulatedWorkload(WorkloadOptions options, SimulatedSettings settings, SimulatedDrivers drivers, Action<string> print)
    {
        _options = options;
        _settings = settings;
        _drivers = drivers;
        _print = print;
    }

    public void Run(int bootNumber)
    {
        Say($"sim: init started (boot {bootNumber})");
        if (!string.IsNullOrEmpty(_settings.ConsoleEcho))
        {
            Say(_settings.ConsoleEcho);
        }
        if (_drivers.Consoles.Count > 0)
        {
            EchoConsole(_drivers.Consoles[0]);
        }
        for (int i = 0; i < _drivers.Disks.Count; i++)
        {
            ExerciseDisk($"vd{(char)('a' + i)}", _drivers.Disks[i], bootNumber);
        }
        foreach (RngDriver rng in _drivers.Rngs)
        {
            ReadEntropy(rng);
        }
        for (int i = 0; i < _drivers.Nics.Count; i++)
        {
            ExerciseNic($"eth{i}", _drivers.Nics[i]);
        }
    }

    /// <summary>The test frame <see cref="SimulatedWorkload"/> sends for sim.net=send.</summary>
    public static byte[] TestFrame(ReadOnlySpan<byte> source)
    {
        byte[] frame = new byte[TestFrameLength];
        frame.AsSpan(0, 6).Fill(0xff);
        source.CopyTo(frame.AsSpan(6, 6));
        frame[12] = 0x88;
        frame[13] = 0xb5;
        Encoding.ASCII.GetBytes("lguest-sim").CopyTo(frame, 14);
        return frame;
    }

    private void Say(string line) => _print(line + "\n");

    private void EchoConsole(ConsoleDriver console)
    {
        for (int i = 0; i < _options.ConsoleEcho; i++)
        {
            string? line = console.ReadLine(_settings.InterruptTimeout);
            if (line is null)
            {
                Say("echo: timeout");
                return;
            }
            Say($"echo: {line}");
        }
    }

    private void ExerciseDisk(string name, BlockDriver disk, int bootNumber)
    {
        if (_options.Block == BlockWorkload.None)
        {
            return;
        }
        Say($"block: {name} {disk.Capacity} sectors");
        if (_options.Block == BlockWorkload.FlushLoop)
        {
            Say($"block: {name} flush-loop {FlushLoop(name, disk)}");
            return;
        }
        if (_options.Block == BlockWorkload.Read)
        {
            (byte idStatus, string? id) = disk.GetId();
            Say(id is null ? $"block: {name} id unsupported (status {idStatus})" : $"block: {name} id {id}");
            if (disk.Capacity == 0)
            {
                Say($"block: {name} read sector 0 skipped (empty)");
                return;
            }
            BlockResult read = disk.Read(0, 1);
            Say(read.Ok ? $"block: {name} read sector 0 OK" : $"block: {name} read sector 0 FAIL (status {read.Status})");
            return;
        }
        Say($"block: {name} write-read {WriteRead(disk, bootNumber)}");
    }

    private void Ping(string name, NetDriver nic, System.Net.IPAddress host)
    {
        var ping = new GuestPing(nic, host);
        byte[]? hostMac = ping.ResolveHost(_settings.InterruptTimeout);
        if (hostMac is null)
        {
            Say($"net: {name} arp timeout");
            return;
        }
        Say($"net: {name} arp reply from {host} is-at {FormatMac(hostMac)}");
        Say(ping.Echo(hostMac, 1, _settings.InterruptTimeout) ? $"net: {name} ping {host} OK" : $"net: {name} ping {host} timeout");
    }

    private static string FormatMac(byte[] mac) => string.Join(':', mac.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private static string WriteRead(BlockDriver disk, int bootNumber)
    {
        const int sectors = 2;
        if (disk.ReadOnly)
        {
            return "skipped (read-only)";
        }
        if (disk.Capacity < sectors)
        {
            return $"skipped ({disk.Capacity} sectors)";
        }
        byte[] marker = new byte[sectors * BlockDriver.SectorSize];
        for (int i = 0; i < marker.Length; i++)
        {
            marker[i] = (byte)(i * 7 + bootNumber);
        }
        Encoding.ASCII.GetBytes($"lguest-sim marker, boot {bootNumber}").CopyTo(marker, 0);
        byte status = disk.Write(0, marker);
        if (status != BlockDriver.StatusOk)
        {
            return $"FAIL (write status {status})";
        }
        status = disk.Flush();
        if (status != BlockDriver.StatusOk && status != BlockDriver.StatusUnsupported)
        {
            return $"FAIL (flush status {status})";
        }
        BlockResult read = disk.Read(0, sectors);
        if (!read.Ok)
        {
            return $"FAIL (read status {read.Status})";
        }
        return read.Data.AsSpan().SequenceEqual(marker) ? "OK" : "FAIL (data differs)";
    }

    /// <summary>The 512 bytes of record <paramref name="n"/>: its number in ASCII, then a pattern that depends on it.</summary>
    public static byte[] FlushRecord(long n)
    {
        byte[] record = new byte[BlockDriver.SectorSize];
        for (int i = 0; i < record.Length; i++)
        {
            record[i] = (byte)((n * 131) + i);
        }
        Encoding.ASCII.GetBytes($"lguest-sim record {n}\n").CopyTo(record, 0);
        return record;
    }

    /// <summary>Returns only when the disk fails (or cannot be used); the launcher is expected to be killed.</summary>
    private string FlushLoop(string name, BlockDriver disk)
    {
        if (disk.ReadOnly || disk.Capacity == 0)
        {
            return disk.ReadOnly ? "skipped (read-only)" : "skipped (empty)";
        }
        for (long n = 0; ; n++)
        {
            byte status = disk.Write((ulong)n % disk.Capacity, FlushRecord(n));
            if (status != BlockDriver.StatusOk)
            {
                return $"FAIL (write {n} status {status})";
            }
            status = disk.Flush();
            if (status != BlockDriver.StatusOk)
            {
                return $"FAIL (flush {n} status {status})";
            }
            Say($"block: {name} flushed {n}");
        }
    }

    private void ReadEntropy(RngDriver rng)
    {
        int total = 0;
        while (total < _options.RngBytes)
        {
            byte[] got = rng.Read(Math.Min(RngDriver.MaxRequestBytes, _options.RngBytes - total));
            if (got.Length == 0)
            {
                break; // a device with nothing to give; what we have is the answer
            }
            total += got.Length;
        }
        if (_options.RngBytes > 0)
        {
            Say($"rng: read {total} bytes");
        }
    }

    private void ExerciseNic(string name, NetDriver nic)
    {
        if (nic.Mac is { } mac)
        {
            Say($"net: {name} mac {FormatMac(mac)}");
        }
        if (_options.NetSend)
        {
            nic.Send(TestFrame(nic.Mac ?? [0x02, 0, 0, 0, 0, 1]));
            Say(nic.WaitSent(_settings.InterruptTimeout) ? $"net: {name} sent {TestFrameLength} bytes" : $"net: {name} send timeout");
        }
        if (_options.NetPing is { } host)
        {
            Ping(name, nic, host);
        }
        for (int i = 0; i < _options.NetEcho; i++)
        {
            byte[]? frame = nic.TryReceive(_settings.InterruptTimeout);
            if (frame is null)
            {
                Say($"net: {name} receive timeout");
                return;
            }
            if (frame.Length >= 12)
            {
                // Back to where it came from: swap destination and source.
                byte[] destination = frame[..6];
                frame.AsSpan(6, 6).CopyTo(frame.AsSpan(0, 6));
                destination.CopyTo(frame.AsSpan(6, 6));
            }
            nic.Send(frame);
            Say($"net: {name} echoed {frame.Length} bytes");
        }
    }
}
