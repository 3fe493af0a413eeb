using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// Where each MAC address was last heard: a bounded table with ageing, shared by every port's transmit thread. A
/// lookup and a learn per frame take one short lock over a dictionary sized up front, so the frame path never
/// allocates; when the table is full an unknown address is not learned (its frames keep flooding) until ageing
/// frees room, so a guest that invents source addresses cannot grow our memory.
/// </summary>
internal sealed class MacTable
{
    private const long FullSweepIntervalMs = 1000;

    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Entry> _entries;
    private readonly int _capacity;
    private readonly long _ageingMs;
    private readonly Func<long> _clockMs;
    private long _refused;
    private long _lastFullSweep = long.MinValue / 2;

    /// <param name="clockMs">Milliseconds from any fixed point (Environment.TickCount64 by default): tests move it by hand.</param>
    public MacTable(int capacity, TimeSpan ageing, Func<long>? clockMs = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _ageingMs = (long)ageing.TotalMilliseconds;
        _clockMs = clockMs ?? (() => Environment.TickCount64);
        _entries = new Dictionary<ulong, Entry>(capacity);
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Addresses not learned because the table was full.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Six bytes of address as a number: the key, with no allocation.</summary>
    public static ulong Key(ReadOnlySpan<byte> mac) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(mac) << 32) | BinaryPrimitives.ReadUInt32BigEndian(mac[2..]);

    /// <summary>The group bit: broadcast and multicast destinations go to every port.</summary>
    public static bool IsGroup(ulong key) => (key & (1UL << 40)) != 0;

    /// <summary>
    /// Records that <paramref name="mac"/> was heard on <paramref name="port"/>, then answers where
    /// <paramref name="destination"/> lives: its port, or -1 when it is unknown or aged out. One lock for both, as each frame needs both.
    /// </summary>
    public int LearnAndLookup(ulong mac, int port, ulong destination)
    {
        long now = _clockMs();
        lock (_gate)
        {
            if (!IsGroup(mac))
            {
                Learn(mac, port, now);
            }
            if (IsGroup(destination) || !_entries.TryGetValue(destination, out Entry entry))
            {
                return -1;
            }
            if (now - entry.LastSeen >= _ageingMs)
            {
                _entries.Remove(destination);
                return -1;
            }
            return entry.Port;
        }
    }

    /// <summary>Forgets every address on <paramref name="port"/>: its guest has gone, and frames to them must flood again.</summary>
    public int Forget(int port)
    {
        lock (_gate)
        {
            int removed = 0;
            foreach ((ulong mac, Entry entry) in _entries)
            {
                if (entry.Port == port && _entries.Remove(mac))
                {
                    removed++;
                }
            }
            return removed;
        }
    }

    /// <summary>Drops every address older than the ageing time; the switch actor calls it on a timer.</summary>
    public int Sweep()
    {
        long now = _clockMs();
        lock (_gate)
        {
            return SweepLocked(now);
        }
    }

    private void Learn(ulong mac, int port, long now)
    {
        if (_entries.Count >= _capacity && !_entries.ContainsKey(mac))
        {
            // A full table sweeps at most once a second here, so a flood of invented addresses costs O(1) per frame.
            if (now - _lastFullSweep >= FullSweepIntervalMs)
            {
                _lastFullSweep = now;
                SweepLocked(now);
            }
            if (_entries.Count >= _capacity)
            {
                Interlocked.Increment(ref _refused);
                return;
            }
        }
        ref Entry entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, mac, out _);
        entry = new Entry(port, now);
    }

    private int SweepLocked(long now)
    {
        int removed = 0;
        foreach ((ulong mac, Entry entry) in _entries)
        {
            if (now - entry.LastSeen >= _ageingMs && _entries.Remove(mac))
            {
                removed++;
            }
        }
        return removed;
    }

    private readonly record struct Entry(int Port, long LastSeen);
}
