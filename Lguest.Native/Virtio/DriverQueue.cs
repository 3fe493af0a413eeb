using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// The driver's side of a split virtqueue, doing what Linux's virtio_ring does: the simulated guest drives devices
/// through it, and tests use its low-level methods to build rings no honest driver would.
///
/// The free list and each chain's links are kept here, not read back from the descriptor table, so a device
/// scribbling on the table cannot corrupt the driver (Linux's desc_extra). Not thread-safe.
/// </summary>
public sealed unsafe class DriverQueue
{
    private const ushort NoDescriptor = ushort.MaxValue;

    private readonly GuestMemory _memory;
    private readonly SplitRing _ring;
    private readonly bool _indirect;
    private readonly bool _eventIndex;
    private readonly ushort[] _next;
    private readonly ushort[] _chainLength;
    private ushort _freeHead;
    private int _freeCount;
    private ushort _availIndex;
    private int _added;
    private ushort _lastUsed;
    private ushort _availFlags;
    private bool _interruptsDisabled;

    /// <summary>Zeroes the ring and puts every descriptor on the free list, as a driver does when it sets up a queue.</summary>
    public DriverQueue(GuestMemory memory, SplitQueueLayout layout, VirtqueueFeatures features)
    {
        _ring = SplitRing.Resolve(memory, layout);
        _memory = memory;
        _indirect = (features & VirtqueueFeatures.IndirectDescriptors) != 0;
        _eventIndex = (features & VirtqueueFeatures.EventIndex) != 0;
        ushort size = layout.Size;
        memory.Clear(layout.DescriptorTable, SplitQueueLayout.DescriptorBytes(size));
        memory.Clear(layout.AvailableRing, SplitQueueLayout.AvailableBytes(size));
        memory.Clear(layout.UsedRing, SplitQueueLayout.UsedBytes(size));
        _next = new ushort[size];
        _chainLength = new ushort[size];
        for (int i = 0; i < size; i++)
        {
            _next[i] = (ushort)(i + 1 < size ? i + 1 : NoDescriptor);
        }
        _freeHead = 0;
        _freeCount = size;
    }

    public ushort Size => _ring.Size;

    public int FreeDescriptorCount => _freeCount;

    /// <summary>The driver's avail.idx: where the next head will be published.</summary>
    public ushort AvailableIndex => _availIndex;

    /// <summary>
    /// Offers one buffer to the device as a direct chain, readable parts first (§2.7.4.2), and publishes it.
    /// Returns the head descriptor, which the device will hand back in the used ring.
    /// </summary>
    public ushort AddBuffer(ReadOnlySpan<ChainBuffer> buffers)
    {
        ThrowIfBadOrder(buffers);
        if (buffers.Length > _freeCount)
        {
            throw new InvalidOperationException($"{buffers.Length} descriptors needed, {_freeCount} free");
        }
        ushort head = _freeHead;
        ushort index = head;
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ChainBuffer b = buffers[i];
            ushort flags = (ushort)((b.Writable ? VirtqueueFlags.Write : 0) | (last ? 0 : VirtqueueFlags.Next));
            WriteDescriptor(index, b.Address, b.Length, flags, last ? (ushort)0 : _next[index]);
            if (!last)
            {
                index = _next[index];
            }
        }
        _freeHead = _next[index];
        _freeCount -= buffers.Length;
        _chainLength[head] = (ushort)buffers.Length;
        PublishAvailable(head);
        return head;
    }

    /// <summary>
    /// Offers one buffer through an indirect table written at <paramref name="tableAddress"/>, so a request of many
    /// segments costs one ring descriptor (§2.7.5.3). The table must stay untouched until the buffer is used.
    /// </summary>
    public ushort AddIndirectBuffer(ReadOnlySpan<ChainBuffer> buffers, ulong tableAddress)
    {
        if (!_indirect)
        {
            throw new InvalidOperationException("VIRTIO_F_INDIRECT_DESC was not negotiated");
        }
        ThrowIfBadOrder(buffers);
        if (_freeCount == 0)
        {
            throw new InvalidOperationException("no free descriptor");
        }
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ChainBuffer b = buffers[i];
            ulong entry = tableAddress + (ulong)i * VirtqueueFlags.DescriptorSize;
            _memory.Write(entry, b.Address);
            _memory.Write(entry + 8, b.Length);
            _memory.Write(entry + 12, (ushort)((b.Writable ? VirtqueueFlags.Write : 0) | (last ? 0 : VirtqueueFlags.Next)));
            _memory.Write(entry + 14, (ushort)(last ? 0 : i + 1));
        }
        ushort head = _freeHead;
        _freeHead = _next[head];
        _freeCount--;
        _chainLength[head] = 1;
        WriteDescriptor(head, tableAddress, (uint)(buffers.Length * VirtqueueFlags.DescriptorSize), VirtqueueFlags.Indirect, 0);
        PublishAvailable(head);
        return head;
    }

    /// <summary>
    /// Whether the device wants a kick for what was published since the last call, Linux's kick_prepare: used.flags
    /// NO_NOTIFY, or with EVENT_IDX whether avail.idx stepped over avail_event (§2.7.10).
    /// </summary>
    public bool KickNeeded()
    {
        // Our avail.idx store must be visible before we read the device's wish, or both sides may wait.
        Interlocked.MemoryBarrier();
        ushort newIndex = _availIndex;
        ushort old = (ushort)(newIndex - _added);
        int added = _added;
        _added = 0;
        if (added == 0)
        {
            return false;
        }
        if (_eventIndex)
        {
            return added >= 0x10000 || VirtqueueFlags.NeedEvent(Volatile.Read(ref *_ring.AvailEvent), newIndex, old);
        }
        return (Volatile.Read(ref *_ring.UsedFlags) & VirtqueueFlags.NoNotify) == 0;
    }

    /// <summary>Completions the device has published and the driver not collected yet (a look, not a take).</summary>
    public int PendingUsed => (ushort)(Volatile.Read(ref *_ring.UsedIndex) - _lastUsed);

    /// <summary>
    /// Collects the next buffer the device finished, freeing its descriptors. A device returning a head that is not
    /// in flight is a device bug, and throws.
    /// </summary>
    public bool TryGetUsed(out ushort head, out uint length)
    {
        // Acquire: the used element the device wrote before bumping idx is visible after this.
        ushort usedIndex = Volatile.Read(ref *_ring.UsedIndex);
        if (usedIndex == _lastUsed)
        {
            head = 0;
            length = 0;
            return false;
        }
        uint* element = _ring.UsedSlot(_lastUsed);
        uint id = element[0];
        length = element[1];
        if (id >= Size || _chainLength[id] == 0)
        {
            throw new InvalidOperationException($"device used descriptor {id}, which is not the head of a buffer in flight");
        }
        head = (ushort)id;
        FreeChain(head);
        _lastUsed++;
        if (_eventIndex && !_interruptsDisabled)
        {
            // Ask for an interrupt on the very next completion, as Linux does after each get_buf.
            Volatile.Write(ref *_ring.UsedEvent, _lastUsed);
            Interlocked.MemoryBarrier();
        }
        return true;
    }

    /// <summary>
    /// Asks the device not to interrupt (the driver is polling). With EVENT_IDX flags must stay 0 (§2.7.7), so
    /// used_event is parked half the 16-bit space away from anything the device can reach before we look again.
    /// </summary>
    public void DisableInterrupts()
    {
        _interruptsDisabled = true;
        if (_eventIndex)
        {
            Volatile.Write(ref *_ring.UsedEvent, (ushort)(_lastUsed + 0x8000));
            return;
        }
        _availFlags |= VirtqueueFlags.NoInterrupt;
        Volatile.Write(ref *_ring.AvailFlags, _availFlags);
    }

    /// <summary>Asks for an interrupt on the next completion again. Callers re-check <see cref="TryGetUsed"/> afterwards.</summary>
    public void EnableInterrupts()
    {
        _interruptsDisabled = false;
        if (_eventIndex)
        {
            Volatile.Write(ref *_ring.UsedEvent, _lastUsed);
        }
        else
        {
            _availFlags &= unchecked((ushort)~VirtqueueFlags.NoInterrupt);
            Volatile.Write(ref *_ring.AvailFlags, _availFlags);
        }
        Interlocked.MemoryBarrier();
    }

    /// <summary>Writes used_event directly (EVENT_IDX tests).</summary>
    public void SetUsedEvent(ushort value) => Volatile.Write(ref *_ring.UsedEvent, value);

    /// <summary>Writes one descriptor of the ring's table verbatim; no checks, for building hostile rings.</summary>
    public void WriteDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        if (index >= Size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"queue size is {Size}");
        }
        byte* descriptor = _ring.Descriptors + index * VirtqueueFlags.DescriptorSize;
        *(ulong*)descriptor = address;
        *(uint*)(descriptor + 8) = length;
        *(ushort*)(descriptor + 12) = flags;
        *(ushort*)(descriptor + 14) = next;
    }

    /// <summary>
    /// Puts <paramref name="head"/> (any value: tests use out-of-range ones) in the next avail slot, then bumps
    /// avail.idx with release ordering so the device never sees the index before the entry.
    /// </summary>
    public void PublishAvailable(ushort head)
    {
        *_ring.AvailSlot(_availIndex) = head;
        _availIndex++;
        Volatile.Write(ref *_ring.AvailIndex, _availIndex);
        _added++;
    }

    /// <summary>Sets avail.idx to anything, for starting near the 16-bit wrap or for running too far ahead.</summary>
    public void SetAvailableIndex(ushort value)
    {
        _availIndex = value;
        _added = 0;
        Volatile.Write(ref *_ring.AvailIndex, value);
    }

    private void FreeChain(ushort head)
    {
        ushort last = head;
        for (int i = 1; i < _chainLength[head]; i++)
        {
            last = _next[last];
        }
        _next[last] = _freeHead;
        _freeHead = head;
        _freeCount += _chainLength[head];
        _chainLength[head] = 0;
    }

    private static void ThrowIfBadOrder(ReadOnlySpan<ChainBuffer> buffers)
    {
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("a buffer needs at least one descriptor", nameof(buffers));
        }
        for (int i = 1; i < buffers.Length; i++)
        {
            if (buffers[i - 1].Writable && !buffers[i].Writable)
            {
                throw new ArgumentException($"buffer {i} is device-readable after a device-writable one", nameof(buffers));
            }
        }
    }
}
