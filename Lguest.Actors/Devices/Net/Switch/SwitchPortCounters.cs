using System.Diagnostics.Metrics;
using Lguest.Actors.Metrics;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>Why the switch did not deliver a frame; the "reason" tag of lguest.switch.dropped.</summary>
public enum SwitchDropReason
{
    /// <summary>The port's queue was full: its guest is not taking frames as fast as they come.</summary>
    QueueFull,

    /// <summary>The destination learned for the frame is the port it came in on: never sent back out (no hairpin).</summary>
    SamePort,

    /// <summary>Shorter than a header and an Ethernet header.</summary>
    Runt,

    /// <summary>Longer than any frame a virtio-net device carries.</summary>
    Oversize,

    /// <summary>The frame needs an offload (checksum, TSO, ECN) the receiving guest did not negotiate.</summary>
    Offload,

    /// <summary>The receiving guest's buffer was too small for the frame.</summary>
    BufferTooSmall,

    /// <summary>The host refused the frame on the uplink tap (full, or a header it will not take).</summary>
    HostRefused,
}

/// <summary>
/// The switch's instruments on the "Lguest.Devices" meter, tagged switch and port (and reason for drops).
/// "rx" is what the switch received from a port's guest, "tx" what it delivered to it, as a switch's port counters read.
/// </summary>
internal static class SwitchMetrics
{
    public static readonly Counter<long> RxFrames = DeviceMetrics.Meter.CreateCounter<long>("lguest.switch.rx_frames", "{frame}", "Frames the switch received from a port");

    public static readonly Counter<long> RxBytes = DeviceMetrics.Meter.CreateCounter<long>("lguest.switch.rx_bytes", "By", "Ethernet bytes the switch received from a port");

    public static readonly Counter<long> TxFrames = DeviceMetrics.Meter.CreateCounter<long>("lguest.switch.tx_frames", "{frame}", "Frames the switch delivered to a port");

    public static readonly Counter<long> TxBytes = DeviceMetrics.Meter.CreateCounter<long>("lguest.switch.tx_bytes", "By", "Ethernet bytes the switch delivered to a port");

    public static readonly Counter<long> Floods = DeviceMetrics.Meter.CreateCounter<long>("lguest.switch.floods", "{frame}", "Frames from a port sent to every other port (broadcast, multicast, unknown destination)");

    public static readonly Counter<long> Dropped = DeviceMetrics.Meter.CreateCounter<long>("lguest.switch.dropped", "{frame}", "Frames not delivered, by reason");
}

/// <summary>
/// One port's counters: lock-free and allocation-free, so every queue thread counts on the frame path. Each records
/// to <see cref="SwitchMetrics"/> and keeps a running total that tests and the port actor read.
/// </summary>
internal sealed class SwitchPortCounters
{
    private static readonly int ReasonCount = Enum.GetValues<SwitchDropReason>().Length;

    private readonly KeyValuePair<string, object?> _switch;
    private readonly KeyValuePair<string, object?> _port;
    private readonly KeyValuePair<string, object?>[] _reasons;
    private readonly long[] _drops = new long[ReasonCount];
    private long _rxFrames;
    private long _rxBytes;
    private long _txFrames;
    private long _txBytes;
    private long _floods;

    public SwitchPortCounters(string switchName, string port)
    {
        _switch = new("switch", switchName);
        _port = new("port", port);
        _reasons = Enum.GetValues<SwitchDropReason>().Select(r => new KeyValuePair<string, object?>("reason", ReasonTag(r))).ToArray();
    }

    public void Received(int bytes)
    {
        Interlocked.Increment(ref _rxFrames);
        Interlocked.Add(ref _rxBytes, bytes);
        SwitchMetrics.RxFrames.Add(1, _switch, _port);
        SwitchMetrics.RxBytes.Add(bytes, _switch, _port);
    }

    public void Delivered(int bytes)
    {
        Interlocked.Increment(ref _txFrames);
        Interlocked.Add(ref _txBytes, bytes);
        SwitchMetrics.TxFrames.Add(1, _switch, _port);
        SwitchMetrics.TxBytes.Add(bytes, _switch, _port);
    }

    public void Flooded()
    {
        Interlocked.Increment(ref _floods);
        SwitchMetrics.Floods.Add(1, _switch, _port);
    }

    public void Drop(SwitchDropReason reason)
    {
        Interlocked.Increment(ref _drops[(int)reason]);
        SwitchMetrics.Dropped.Add(1, _switch, _port, _reasons[(int)reason]);
    }

    public SwitchPortSnapshot Snapshot() => new(
        Interlocked.Read(ref _rxFrames),
        Interlocked.Read(ref _rxBytes),
        Interlocked.Read(ref _txFrames),
        Interlocked.Read(ref _txBytes),
        Interlocked.Read(ref _floods),
        Enum.GetValues<SwitchDropReason>().ToDictionary(r => r, r => Interlocked.Read(ref _drops[(int)r])));

    /// <summary>"queue_full", "same_port": the metric tag's spelling.</summary>
    public static string ReasonTag(SwitchDropReason reason) => reason switch
    {
        SwitchDropReason.QueueFull => "queue_full",
        SwitchDropReason.SamePort => "same_port",
        SwitchDropReason.Runt => "runt",
        SwitchDropReason.Oversize => "oversize",
        SwitchDropReason.Offload => "offload",
        SwitchDropReason.BufferTooSmall => "buffer_too_small",
        _ => "host_refused",
    };
}

/// <summary>One port's totals at one moment.</summary>
public sealed record SwitchPortSnapshot(
    long RxFrames, long RxBytes, long TxFrames, long TxBytes, long Floods, IReadOnlyDictionary<SwitchDropReason, long> Drops)
{
    public long Dropped(SwitchDropReason reason) => Drops.TryGetValue(reason, out long count) ? count : 0;
}
