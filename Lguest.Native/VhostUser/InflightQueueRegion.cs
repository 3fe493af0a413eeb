using Lguest.Native.Virtio;

namespace Lguest.Native.VhostUser;

/// <summary>
/// One queue's part of the inflight region (QEMU's vhost-user.rst, "Inflight I/O tracking", split ring), as a typed
/// view over shared memory that outlives this process: the front end keeps the region and gives it back to the
/// restarted back end. The layout is QueueRegionSplit: u64 features at 0, u16 version at 8, u16 desc_num at 10,
/// u16 last_batch_head at 12, u16 used_idx at 14, then desc_num DescStateSplit entries of 16 bytes (u8 inflight at 0,
/// five bytes of padding, u16 next at 6, u64 counter at 8).
///
/// The front end can write this memory at any time, so nothing read from it is trusted: every index taken from it
/// is checked against the ring size, and the ring size, not desc_num, bounds every loop.
/// </summary>
public sealed unsafe class InflightQueueRegion : IInflightTracker
{
    public const int HeaderSize = 16;
    public const int DescriptorStateSize = 16;
    public const ushort Version = 1;

    private const int VersionOffset = 8;
    private const int DescNumOffset = 10;
    private const int LastBatchHeadOffset = 12;
    private const int UsedIndexOffset = 14;
    private const int CounterOffset = 8;

    private readonly byte* _base;
    private readonly ushort _ringSize;
    private ulong _counter;

    /// <param name="address">The queue region's first byte; it must stay mapped while a queue uses this view.</param>
    /// <param name="ringSize">The ring's size; the region must hold at least that many entries.</param>
    internal InflightQueueRegion(nint address, ushort ringSize)
    {
        _base = (byte*)address;
        _ringSize = ringSize;
    }

    /// <summary>Bytes one queue of <paramref name="queueSize"/> entries takes, aligned to 64 as libvhost-user and DPDK lay it out.</summary>
    public static ulong QueueRegionSize(ushort queueSize) => ((ulong)HeaderSize + (ulong)DescriptorStateSize * queueSize + 63) & ~63UL;

    public ushort RegionVersion => Volatile.Read(ref *(ushort*)(_base + VersionOffset));

    public ushort UsedIndex => Volatile.Read(ref *(ushort*)(_base + UsedIndexOffset));

    public ushort LastBatchHead => Volatile.Read(ref *(ushort*)(_base + LastBatchHeadOffset));

    public bool IsInflight(ushort head) => head < _ringSize && Volatile.Read(ref *Descriptor(head)) != 0;

    public ulong CounterOf(ushort head) => head < _ringSize ? *(ulong*)(Descriptor(head) + CounterOffset) : 0;

    /// <summary>
    /// Why: the region is all the restarted back end knows of requests the old one took. A zero version is a region
    /// nobody used yet (a fresh memfd reads zero): it is claimed for this ring. Otherwise the one step the old process
    /// may have died inside is repaired, publishing used.idx but not yet clearing the head it published, and every
    /// head still marked is handed back in counter order.
    /// </summary>
    public int Recover(ushort ringUsedIndex, Span<ushort> resubmit)
    {
        ushort* usedIndex = (ushort*)(_base + UsedIndexOffset);
        if (RegionVersion != Version || Volatile.Read(ref *(ushort*)(_base + DescNumOffset)) != _ringSize)
        {
            // Unused, or laid out for another ring size: nothing in it describes this ring.
            new Span<byte>(_base, HeaderSize + DescriptorStateSize * _ringSize).Clear();
            *(ushort*)(_base + DescNumOffset) = _ringSize;
            *usedIndex = ringUsedIndex;
            Volatile.Write(ref *(ushort*)(_base + VersionOffset), Version);
            _counter = 0;
            return 0;
        }

        if (Volatile.Read(ref *usedIndex) != ringUsedIndex)
        {
            ushort last = LastBatchHead;
            if (last < _ringSize)
            {
                Volatile.Write(ref *Descriptor(last), (byte)0);
            }
            Volatile.Write(ref *usedIndex, ringUsedIndex);
        }

        int count = 0;
        var counters = new ulong[_ringSize];
        for (ushort head = 0; head < _ringSize; head++)
        {
            if (Volatile.Read(ref *Descriptor(head)) == 0)
            {
                continue;
            }
            if (count == resubmit.Length)
            {
                break;
            }
            resubmit[count] = head;
            counters[count] = *(ulong*)(Descriptor(head) + CounterOffset);
            count++;
        }
        counters.AsSpan(0, count).Sort(resubmit[..count]);
        _counter = count == 0 ? 0 : counters[count - 1] + 1;
        return count;
    }

    /// <summary>Why: the counter is written before the flag, so a head seen in flight always has its order.</summary>
    public void Taken(ushort head)
    {
        if (head >= _ringSize)
        {
            return;
        }
        byte* state = Descriptor(head);
        *(ulong*)(state + CounterOffset) = _counter++;
        Volatile.Write(ref *state, (byte)1);
    }

    /// <summary>Why: if we die after used.idx moves but before the flag clears, this names the head to clear.</summary>
    public void Publishing(ushort head)
    {
        if (head < _ringSize)
        {
            Volatile.Write(ref *(ushort*)(_base + LastBatchHeadOffset), head);
        }
    }

    /// <summary>Why: the flag clears before used_idx catches up, so the two disagree exactly while the repair is needed.</summary>
    public void Published(ushort head, ushort usedIndex)
    {
        if (head >= _ringSize)
        {
            return;
        }
        Volatile.Write(ref *Descriptor(head), (byte)0);
        Volatile.Write(ref *(ushort*)(_base + UsedIndexOffset), usedIndex);
    }

    private byte* Descriptor(ushort head) => _base + HeaderSize + DescriptorStateSize * head;
}
