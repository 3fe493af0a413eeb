using System.Globalization;

namespace Lguest.DeviceTestKit;

/// <summary>What the block workload does to each disk.</summary>
public enum BlockWorkload
{
    None,

    /// <summary>Capacity, GET_ID and a read of sector 0: changes nothing on the disk (the default).</summary>
    Read,

    /// <summary>Writes a marker to sectors 0-1, flushes, reads it back and compares.</summary>
    WriteRead,

    /// <summary>
    /// For ever: writes record N to sector N (modulo the capacity), flushes, then says so; for crash-consistency
    /// tests, which kill the launcher and check every record it said was flushed.
    /// </summary>
    FlushLoop,
}

/// <summary>
/// The simulated /init's parameters, read from the kernel command line as a real init reads its own: words of the
/// form <c>sim.key=value</c>; all other words belong to the kernel and are ignored; an unknown <c>sim.</c> key or a
/// bad value panics, so a typo in a test is loud.
/// <list type="bullet">
/// <item><c>sim.console-echo=N</c>: read N lines from the console and echo each back as "echo: LINE" (default 0).</item>
/// <item><c>sim.block=read|write-read|flush-loop|none</c>: what to do to each disk (default read; flush-loop never ends).</item>
/// <item><c>sim.rng=N</c>: read N random bytes from each rng, 0 to skip (default 16, at most 1048576).</item>
/// <item><c>sim.net=send|echo:N|ping:IPV4|none</c>: send one test frame, echo N received frames back, or ARP for and
/// ping the host end of the tap at IPV4 (the guest takes the next address) (default send).</item>
/// <item><c>sim.reboot=once|none</c>: on the first boot of this launcher, ask for a reboot after the workload.</item>
/// <item><c>sim.panic=REASON</c>: panic with REASON once the devices are probed, instead of running the workload.</item>
/// <item><c>sim.heap=ADDRESS</c>: where driver buffers start (hex with 0x, or decimal; page-aligned; default 16 MiB).</item>
/// </list>
/// </summary>
public sealed record WorkloadOptions
{
    public const ulong DefaultHeap = 16 * 1024 * 1024;

    public int ConsoleEcho { get; init; }

    public BlockWorkload Block { get; init; } = BlockWorkload.Read;

    public int RngBytes { get; init; } = 16;

    /// <summary>Frames to echo back; 0 with <see cref="NetSend"/> false means no network traffic.</summary>
    public int NetEcho { get; init; }

    public bool NetSend { get; init; } = true;

    /// <summary>The host end of the tap to ARP for and ping (sim.net=ping:IPV4); null: no ping.</summary>
    public System.Net.IPAddress? NetPing { get; init; }

    public bool RebootOnce { get; init; }

    public string? Panic { get; init; }

    public ulong Heap { get; init; } = DefaultHeap;

    public static WorkloadOptions Parse(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var options = new WorkloadOptions();
        foreach (string word in commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!word.StartsWith("sim.", StringComparison.Ordinal))
            {
                continue;
            }
            int equals = word.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? word : word[..equals];
            string value = equals < 0 ? string.Empty : word[(equals + 1)..];
            options = key switch
            {
                "sim.console-echo" => options with { ConsoleEcho = Number(key, value, 0, 1 << 20) },
                "sim.block" => options with { Block = BlockMode(value) },
                "sim.rng" => options with { RngBytes = Number(key, value, 0, 1 << 20) },
                "sim.net" => Net(options, value),
                "sim.reboot" => options with { RebootOnce = Choice(key, value, "once", "none") },
                "sim.panic" when value.Length > 0 => options with { Panic = value },
                "sim.heap" => options with { Heap = Address(key, value) },
                _ => throw new SimulatedGuestException($"sim: unknown parameter '{word}'"),
            };
        }
        return options;
    }

    private static BlockWorkload BlockMode(string value) => value switch
    {
        "read" => BlockWorkload.Read,
        "write-read" => BlockWorkload.WriteRead,
        "flush-loop" => BlockWorkload.FlushLoop,
        "none" => BlockWorkload.None,
        _ => throw new SimulatedGuestException($"sim: sim.block={value}: expected read, write-read, flush-loop or none"),
    };

    private static WorkloadOptions Net(WorkloadOptions options, string value)
    {
        if (value == "send")
        {
            return options with { NetSend = true, NetEcho = 0, NetPing = null };
        }
        if (value == "none")
        {
            return options with { NetSend = false, NetEcho = 0, NetPing = null };
        }
        if (value.StartsWith("echo:", StringComparison.Ordinal))
        {
            return options with { NetSend = false, NetEcho = Number("sim.net=echo", value[5..], 1, 1 << 20), NetPing = null };
        }
        if (value.StartsWith("ping:", StringComparison.Ordinal))
        {
            if (!System.Net.IPAddress.TryParse(value[5..], out System.Net.IPAddress? host)
                || host.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || value[5..].Count(c => c == '.') != 3)
            {
                throw new SimulatedGuestException($"sim: sim.net={value}: expected an IPv4 address after ping:");
            }
            return options with { NetSend = false, NetEcho = 0, NetPing = host };
        }
        throw new SimulatedGuestException($"sim: sim.net={value}: expected send, echo:N, ping:IPV4 or none");
    }

    private static bool Choice(string key, string value, string yes, string no)
        => value == yes || (value != no ? throw new SimulatedGuestException($"sim: {key}={value}: expected {yes} or {no}") : false);

    private static int Number(string key, string value, int minimum, int maximum)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < minimum || n > maximum)
        {
            throw new SimulatedGuestException($"sim: {key}={value}: expected a number from {minimum} to {maximum}");
        }
        return n;
    }

    private static ulong Address(string key, string value)
    {
        bool hex = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        bool parsed = hex
            ? ulong.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong address)
            : ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out address);
        if (!parsed || address % 4096 != 0)
        {
            throw new SimulatedGuestException($"sim: {key}={value}: expected a page-aligned address");
        }
        return address;
    }
}
