using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit.Virtqueue;

/// <summary>
/// The driver's side of one split virtqueue, as Linux's virtio_ring drives it, written from the specification
/// (<see cref="SplitRingSpec"/>) and not from the device side's ring code. Only guest memory is shared with the
/// device side: the ring is bytes at guest-physical addresses, and this class puts them where the spec says.
///
/// The free list and each chain's length live here, never read back from the table, so a device scribbling on
/// the table cannot corrupt the driver (Linux's desc_extra). Not thread-safe: one driver thread owns a queue.
/// </summary>
public sealed class SplitRingDriver
{
    private const ushort NoDescriptor = ushort.MaxValue;

    private readonly GuestMemory _memory;
    private readonly SplitRingAddresses _ring;
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

    /// <summary>
    /// Zeroes the ring and puts every descriptor on the free list, as a driver does before it tells the device where
    /// the queue is. <paramref name="negotiatedFeatures"/> decides indirect descriptors and EVENT_IDX.
    /// </summary>
    public SplitRingDriver(GuestMemory memory, SplitRingAddresses ring, ulong negotiatedFeatures)
    {
        ArgumentNullException.ThrowIfNull(memory);
        // The ring is little-endian (legacy: guest-native, and lguest's guests are x86); the index fields are read
        // in place for atomicity, which is only the spec's byte order on a little-endian host.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the TestKit's driver reads ring indices in place and needs a little-endian host");
        }
        _memory = memory;
        _ring = ring;
        _indirect = (negotiatedFeatures & (1UL << SplitRingSpec.FeatureIndirectDescriptors)) != 0;
        _eventIndex = (negotiatedFeatures & (1UL << SplitRingSpec.FeatureEventIndex)) != 0;
        memory.Clear(ring.Descriptors, ring.AvailEvent + 2 - ring.Descriptors);
        _next = new ushort[ring.Size];
        _chainLength = new ushort[ring.Size];
        for (int i = 0; i < ring.Size; i++)
        {
            _next[i] = (ushort)(i + 1 < ring.Size ? i + 1 : NoDescriptor);
        }
        _freeCount = ring.Size;
    }

    public ushort Size => _ring.Size;

    public SplitRingAddresses Addresses => _ring;

    public int FreeDescriptorCount => _freeCount;

    /// <summary>The driver's avail.idx: where the next head will be published.</summary>
    public ushort AvailableIndex => _availIndex;

    /// <summary>
    /// Offers one buffer as a direct chain, device-readable parts first (2.7.4.2), and publishes it. Returns the head
    /// descriptor, the id the device hands back in the used ring.
    /// </summary>
    public ushort AddBuffer(ReadOnlySpan<DriverBuffer> buffers)
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
            DriverBuffer b = buffers[i];
            WriteDescriptor(index, b.Address, b.Length, Flags(b, last), last ? (ushort)0 : _next[index]);
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
    /// Offers one buffer through an indirect table at <paramref name="tableAddress"/>: one ring descriptor whatever
    /// the segment count (2.7.5.3). The table must stay untouched until the buffer comes back used.
    /// </summary>
    public ushort AddIndirectBuffer(ReadOnlySpan<DriverBuffer> buffers, ulong tableAddress)
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
            EncodeDescriptor(tableAddress + (ulong)(i * SplitRingSpec.DescriptorSize), buffers[i].Address, buffers[i].Length,
                Flags(buffers[i], last), last ? (ushort)0 : (ushort)(i + 1));
        }
        ushort head = _freeHead;
        _freeHead = _next[head];
        _freeCount--;
        _chainLength[head] = 1;
        WriteDescriptor(head, tableAddress, (uint)(buffers.Length * SplitRingSpec.DescriptorSize), SplitRingSpec.DescriptorIndirect, 0);
        PublishAvailable(head);
        return head;
    }

    /// <summary>
    /// Whether the device wants a kick for what was published since the last call (Linux's kick_prepare): with
    /// EVENT_IDX, whether avail.idx stepped over avail_event; otherwise whether used.flags lacks NO_NOTIFY (2.7.10).
    /// </summary>
    public bool KickNeeded()
    {
        // Our avail.idx store must be visible before we read the device's wish, or both sides may wait.
        Interlocked.MemoryBarrier();
        int added = _added;
        _added = 0;
        if (added == 0)
        {
            return false;
        }
        ushort newIndex = _availIndex;
        if (_eventIndex)
        {
            return added >= 0x10000 || SplitRingSpec.NeedEvent(ReadIndex(_ring.AvailEvent), newIndex, (ushort)(newIndex - added));
        }
        return (ReadIndex(_ring.UsedFlags) & SplitRingSpec.UsedNoNotify) == 0;
    }

    /// <summary>Completions the device published that the driver has not collected (a look, not a take).</summary>
    public int PendingUsed => (ushort)(ReadIndex(_ring.UsedIndex) - _lastUsed);

    /// <summary>
    /// Collects the next buffer the device finished and frees its descriptors. A head that is not in flight is a
    /// device bug, and throws.
    /// </summary>
    public bool TryGetUsed(out ushort head, out uint length)
    {
        // Acquire: the used element the device wrote before bumping used.idx is visible after this read.
        if (ReadIndex(_ring.UsedIndex) == _lastUsed)
        {
            head = 0;
            length = 0;
            return false;
        }
        ReadOnlySpan<byte> element = _memory.GetSpan(_ring.UsedSlot(_lastUsed), 8);
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(element);
        length = BinaryPrimitives.ReadUInt32LittleEndian(element[4..]);
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
            WriteIndex(_ring.UsedEvent, _lastUsed);
            Interlocked.MemoryBarrier();
        }
        return true;
    }

    /// <summary>
    /// Asks the device not to interrupt while the driver polls. With EVENT_IDX avail.flags must stay 0 (2.7.7), so
    /// used_event is parked half the index space away from anything the device can reach before we look again.
    /// </summary>
    public void DisableInterrupts()
    {
        _interruptsDisabled = true;
        if (_eventIndex)
        {
            WriteIndex(_ring.UsedEvent, (ushort)(_lastUsed + 0x8000));
            return;
        }
        _availFlags |= SplitRingSpec.AvailNoInterrupt;
        WriteIndex(_ring.AvailFlags, _availFlags);
    }

    /// <summary>Asks for an interrupt on the next completion again; callers re-check <see cref="TryGetUsed"/> after.</summary>
    public void EnableInterrupts()
    {
        _interruptsDisabled = false;
        if (_eventIndex)
        {
            WriteIndex(_ring.UsedEvent, _lastUsed);
        }
        else
        {
            _availFlags &= unchecked((ushort)~SplitRingSpec.AvailNoInterrupt);
            WriteIndex(_ring.AvailFlags, _availFlags);
        }
        Interlocked.MemoryBarrier();
    }

    /// <summary>Writes used_event directly, for EVENT_IDX tests.</summary>
    public void SetUsedEvent(ushort value) => WriteIndex(_ring.UsedEvent, value);

    /// <summary>Writes one descriptor of the table verbatim, unchecked: tests build hostile rings with it.</summary>
    public void WriteDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        if (index >= Size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"queue size is {Size}");
        }
        EncodeDescriptor(_ring.Descriptor(index), address, length, flags, next);
    }

    /// <summary>
    /// Puts <paramref name="head"/> (any value: tests use out-of-range ones) in the next avail slot, then bumps
    /// avail.idx with release ordering, so the device never sees the index before the entry (2.7.13).
    /// </summary>
    public void PublishAvailable(ushort head)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_memory.GetSpan(_ring.AvailSlot(_availIndex), 2), head);
        _availIndex++;
        WriteIndex(_ring.AvailIndex, _availIndex);
        _added++;
    }

    /// <summary>Sets avail.idx to anything, for starting near the 16-bit wrap or running too far ahead.</summary>
    public void SetAvailableIndex(ushort value)
    {
        _availIndex = value;
        _added = 0;
        WriteIndex(_ring.AvailIndex, value);
    }

    private void EncodeDescriptor(ulong at, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> descriptor = _memory.GetSpan(at, SplitRingSpec.DescriptorSize);
        BinaryPrimitives.WriteUInt64LittleEndian(descriptor, address);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[14..], next);
    }

    /// <summary>The ring's 16-bit indices and flags are shared with a device on another thread: one access, ordered.</summary>
    private ushort ReadIndex(ulong address) => Volatile.Read(ref MemoryMarshal.AsRef<ushort>(_memory.GetSpan(address, 2)));

    private void WriteIndex(ulong address, ushort value) => Volatile.Write(ref MemoryMarshal.AsRef<ushort>(_memory.GetSpan(address, 2)), value);

    private static ushort Flags(DriverBuffer buffer, bool last) =>
        (ushort)((buffer.DeviceWritable ? SplitRingSpec.DescriptorWrite : 0) | (last ? 0 : SplitRingSpec.DescriptorNext));

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

    private static void ThrowIfBadOrder(ReadOnlySpan<DriverBuffer> buffers)
    {
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("a buffer needs at least one descriptor", nameof(buffers));
        }
        for (int i = 1; i < buffers.Length; i++)
        {
            if (buffers[i - 1].DeviceWritable && !buffers[i].DeviceWritable)
            {
                throw new ArgumentException($"buffer {i} is device-readable after a device-writable one", nameof(buffers));
            }
        }
    }
}
