using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// The device's side of a split virtqueue: takes chains the driver made available, hands them back as used, and
/// decides when either side needs a poke. It knows nothing of devices or transports.
///
/// Everything in the ring is written by a guest that may be buggy or hostile, so every index, length and address
/// is checked before use and every loop is bounded. The first broken rule poisons the queue: the error is thrown
/// again from every later call, so a device cannot spin on a bad ring, until <see cref="Reset"/>.
///
/// Not thread-safe: one device owns a queue, as one lguest thread owned each virtqueue.
/// </summary>
public sealed unsafe class SplitQueue
{
    private readonly SplitRing _ring;
    private readonly bool _indirect;
    private readonly bool _eventIndex;
    private ushort _nextAvail;
    private ushort _usedIndex;
    private ushort _signalledUsed;
    private int _pendingUsed;
    private ushort _usedFlags;
    private VirtqueueViolation? _violation;
    private string? _poisonDetail;
    private IInflightTracker? _inflight;
    private ushort[]? _resubmit;
    private int _resubmitNext;
    private int _resubmitCount;

    /// <summary>Checks the layout against guest memory (throws <see cref="VirtqueueException"/> if it is unusable).</summary>
    public SplitQueue(GuestMemory memory, SplitQueueLayout layout, VirtqueueFeatures features)
    {
        _ring = SplitRing.Resolve(memory, layout);
        Memory = memory;
        Layout = layout;
        Features = features;
        _indirect = (features & VirtqueueFeatures.IndirectDescriptors) != 0;
        _eventIndex = (features & VirtqueueFeatures.EventIndex) != 0;
    }

    public GuestMemory Memory { get; }

    public SplitQueueLayout Layout { get; }

    public VirtqueueFeatures Features { get; }

    public ushort Size => _ring.Size;

    /// <summary>The next avail ring index the device will look at (vhost-user GET/SET_VRING_BASE).</summary>
    public ushort NextAvailableIndex
    {
        get => _nextAvail;
        set => _nextAvail = value;
    }

    /// <summary>
    /// The device's own copy of used.idx. We never read it back from the ring: the guest could scribble on it.
    /// Set it when taking over a ring that is already in use (vhost-user reconnect).
    /// </summary>
    public ushort UsedIndex
    {
        get => _usedIndex;
        set
        {
            _usedIndex = value;
            _signalledUsed = value;
            _pendingUsed = 0;
        }
    }

    public bool IsPoisoned => _violation is not null;

    /// <summary>Heads taken before a restart and not yet handed back, still to be served again.</summary>
    public int ResubmitPending => _resubmitCount - _resubmitNext;

    /// <summary>
    /// Why: a device process that died mid-request left chains taken but never used; the tracker's record says which.
    /// Call once, before the first pop: the used index is re-read from the ring (the front end's truth after a crash),
    /// those heads are served first, in the order they were first taken, and the avail ring resumes after them.
    /// </summary>
    public void AttachInflight(IInflightTracker tracker)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ThrowIfPoisoned();
        ushort ringUsed = Volatile.Read(ref *_ring.UsedIndex);
        var resubmit = new ushort[Size];
        int count = tracker.Recover(ringUsed, resubmit);
        if ((uint)count > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(tracker), count, $"recovered {count} heads for a queue of size {Size}");
        }
        for (int i = 0; i < count; i++)
        {
            if (resubmit[i] >= Size)
            {
                throw new ArgumentOutOfRangeException(nameof(tracker), resubmit[i], $"recovered head {resubmit[i]} is not a descriptor of a queue of size {Size}");
            }
        }
        UsedIndex = ringUsed;
        _nextAvail = (ushort)(ringUsed + count);
        _resubmit = resubmit;
        _resubmitNext = 0;
        _resubmitCount = count;
        _inflight = tracker;
    }

    public VirtqueueViolation? Violation => _violation;

    /// <summary>
    /// Whether used elements were published since the last <see cref="NeedsNotification"/>. Readable on a poisoned
    /// queue too: a queue that fails mid-batch still has to tell the driver about what it completed before the failure.
    /// </summary>
    public bool HasUnsignalledUsed => _pendingUsed > 0;

    /// <summary>
    /// Looks for the next chain the driver made available, lguest.c's wait_for_vq_desc without the waiting (the
    /// caller owns the eventfd) and without the trust: false when there is nothing, otherwise
    /// <paramref name="chain"/> holds a checked snapshot of it.
    /// </summary>
    public bool TryPop(DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ThrowIfPoisoned();

        if (_resubmitNext < _resubmitCount)
        {
            // Already marked in flight by the process that took it first: serve it again, leave its record alone.
            ushort again = _resubmit![_resubmitNext++];
            chain.Begin(again);
            WalkChain(again, chain);
            return true;
        }

        // Acquire: the ring entries and descriptors the driver wrote before bumping idx are visible after this.
        ushort availIndex = Volatile.Read(ref *_ring.AvailIndex);
        ushort waiting = (ushort)(availIndex - _nextAvail);
        if (waiting == 0)
        {
            return false;
        }
        if (waiting > Size)
        {
            throw Poison(
                VirtqueueViolation.AvailIndexTooFarAhead,
                $"avail.idx {availIndex} is {waiting} entries past the device's {_nextAvail}; at most the queue size {Size} can be outstanding");
        }

        ushort head = Volatile.Read(ref *_ring.AvailSlot(_nextAvail));
        if (head >= Size)
        {
            throw Poison(
                VirtqueueViolation.HeadOutOfRange,
                $"avail ring entry {_nextAvail} names descriptor {head}, queue size is {Size}");
        }

        chain.Begin(head);
        WalkChain(head, chain);
        _nextAvail++;
        _inflight?.Taken(head);
        return true;
    }

    /// <summary>
    /// Tells the driver we are done with a chain, lguest.c's add_used: the element must be visible before the
    /// index that exposes it (§2.7.8), and the interrupt is left to <see cref="NeedsNotification"/> so a batch of
    /// completions costs one.
    /// </summary>
    public void AddUsed(ushort head, uint length)
    {
        ThrowIfPoisoned();
        if (head >= Size)
        {
            throw new ArgumentOutOfRangeException(nameof(head), head, $"not a descriptor of a queue of size {Size}");
        }
        uint* element = _ring.UsedSlot(_usedIndex);
        element[0] = head;
        element[1] = length;
        _usedIndex++;
        _inflight?.Publishing(head);
        // Release: the element above is globally visible before the guest can see the new index.
        Volatile.Write(ref *_ring.UsedIndex, _usedIndex);
        _inflight?.Published(head, _usedIndex);
        _pendingUsed++;
    }

    /// <summary>
    /// Whether the driver wants an interrupt for what was used since the last call, lguest.c's trigger_irq
    /// decision: nothing used means no interrupt; otherwise avail.flags NO_INTERRUPT, or with EVENT_IDX whether
    /// used.idx stepped over used_event (§2.7.7).
    /// </summary>
    public bool NeedsNotification()
    {
        ThrowIfPoisoned();
        // The guest may be setting used_event/flags as it goes to sleep: our used.idx store must be visible to it
        // before we read its wish, or both sides can decide the other will act and the queue stalls.
        Interlocked.MemoryBarrier();
        ushort old = _signalledUsed;
        int pending = _pendingUsed;
        _signalledUsed = _usedIndex;
        _pendingUsed = 0;
        if (pending == 0)
        {
            return false;
        }
        if (_eventIndex)
        {
            // 65536 completions unsignalled make the 16-bit window useless; every event index was crossed.
            return pending >= 0x10000 || VirtqueueFlags.NeedEvent(Volatile.Read(ref *_ring.UsedEvent), _usedIndex, old);
        }
        return (Volatile.Read(ref *_ring.AvailFlags) & VirtqueueFlags.NoInterrupt) == 0;
    }

    /// <summary>
    /// Asks the driver not to kick while the device is busy draining the queue anyway. With EVENT_IDX the device
    /// must keep used.flags 0 (§2.7.10), and avail_event is left where it was: at most one more kick arrives.
    /// </summary>
    public void DisableNotifications()
    {
        ThrowIfPoisoned();
        if (_eventIndex)
        {
            return;
        }
        _usedFlags |= VirtqueueFlags.NoNotify;
        Volatile.Write(ref *_ring.UsedFlags, _usedFlags);
    }

    /// <summary>
    /// Asks for kicks again before the device goes to sleep. The driver may have added a buffer after our last
    /// look but before it could see the request, and then it will not kick: so, as lguest.c does, look again after
    /// a full barrier. True means buffers are waiting and the caller must not sleep.
    /// </summary>
    public bool EnableNotifications()
    {
        ThrowIfPoisoned();
        if (_eventIndex)
        {
            Volatile.Write(ref *_ring.AvailEvent, _nextAvail);
        }
        else
        {
            _usedFlags &= unchecked((ushort)~VirtqueueFlags.NoNotify);
            Volatile.Write(ref *_ring.UsedFlags, _usedFlags);
        }
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref *_ring.AvailIndex) != _nextAvail;
    }

    /// <summary>
    /// Whether the driver has made buffers available that were not popped yet: one read of avail.idx and nothing
    /// else, for a device thread that polls the ring instead of waiting for a kick.
    /// </summary>
    public bool HasAvailable => Volatile.Read(ref *_ring.AvailIndex) != _nextAvail;

    /// <summary>
    /// Forgets all device-side state, poison included, for a device reset; guest memory is not touched (the
    /// driver re-initialises its ring).
    /// </summary>
    public void Reset()
    {
        _nextAvail = 0;
        _usedIndex = 0;
        _signalledUsed = 0;
        _pendingUsed = 0;
        _usedFlags = 0;
        _violation = null;
        _poisonDetail = null;
        // A reset driver starts a fresh ring: nothing of the old one is in flight any more.
        _inflight = null;
        _resubmit = null;
        _resubmitNext = 0;
        _resubmitCount = 0;
    }

    /// <summary>
    /// Follows a chain from its head, reading each descriptor once. Indices are below the queue size, so a walk of
    /// more than Size steps has revisited one: that bound is what makes a looping ring harmless.
    /// </summary>
    private void WalkChain(ushort head, DescriptorChain chain)
    {
        ushort index = head;
        for (int steps = 1; ; steps++)
        {
            if (steps > Size)
            {
                throw Poison(
                    VirtqueueViolation.ChainTooLong,
                    $"chain from head {head} runs past {Size} descriptors (queue size) at descriptor {index}: it loops");
            }
            RawDescriptor descriptor = RawDescriptor.Fetch(_ring.Descriptors + index * VirtqueueFlags.DescriptorSize);
            if ((descriptor.Flags & VirtqueueFlags.Indirect) != 0)
            {
                if (!_indirect)
                {
                    throw Poison(
                        VirtqueueViolation.IndirectWithoutFeature,
                        $"descriptor {index} (flags 0x{descriptor.Flags:x}) is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated");
                }
                if ((descriptor.Flags & VirtqueueFlags.Next) != 0)
                {
                    throw Poison(
                        VirtqueueViolation.IndirectWithNext,
                        $"descriptor {index} has both INDIRECT and NEXT (flags 0x{descriptor.Flags:x}, next {descriptor.Next})");
                }
                // §2.7.5.3.2: zero or more direct descriptors may precede the one indirect table, which ends the chain.
                WalkIndirect(index, descriptor, chain);
                return;
            }
            Accept(descriptor, chain, NotIndirect, index);
            if ((descriptor.Flags & VirtqueueFlags.Next) == 0)
            {
                return;
            }
            if (descriptor.Next >= Size)
            {
                throw Poison(
                    VirtqueueViolation.NextOutOfRange,
                    $"descriptor {index} chains to {descriptor.Next}, queue size is {Size}");
            }
            index = descriptor.Next;
        }
    }

    /// <summary>
    /// Follows the chain inside an indirect table, lguest.c's "handle as if it's any normal descriptor chain",
    /// with the table's own length as the loop bound. The table is guest memory like any other, so it is checked
    /// whole before any entry is read.
    /// </summary>
    private void WalkIndirect(ushort owner, RawDescriptor table, DescriptorChain chain)
    {
        uint length = table.Length;
        if (length == 0 || length % VirtqueueFlags.DescriptorSize != 0 || length / VirtqueueFlags.DescriptorSize > VirtqueueFlags.MaxQueueSize)
        {
            throw Poison(
                VirtqueueViolation.IndirectTableLengthInvalid,
                $"descriptor {owner} points at an indirect table of {length} bytes: not a non-zero multiple of 16 of at most {VirtqueueFlags.MaxQueueSize} descriptors");
        }
        if (!Memory.Contains(table.Address, length))
        {
            throw Poison(
                VirtqueueViolation.IndirectTableOutsideMemory,
                $"descriptor {owner} points at an indirect table at 0x{table.Address:x}+0x{length:x}, outside guest memory");
        }
        int entries = (int)(length / VirtqueueFlags.DescriptorSize);
        // Volatile loads need alignment; a table that is misaligned or straddles regions is copied out instead,
        // which is still one fetch per descriptor.
        byte* host = table.Address % 8 == 0 && Memory.TryGetHostAddress(table.Address, length, out nint mapped) ? (byte*)mapped : null;

        ushort index = 0;
        for (int steps = 1; ; steps++)
        {
            if (steps > entries)
            {
                throw Poison(
                    VirtqueueViolation.ChainTooLong,
                    $"chain in the indirect table of descriptor {owner} runs past its {entries} descriptors at entry {index}: it loops");
            }
            RawDescriptor descriptor = host is not null
                ? RawDescriptor.Fetch(host + index * VirtqueueFlags.DescriptorSize)
                : Memory.Read<RawDescriptor>(table.Address + (ulong)index * VirtqueueFlags.DescriptorSize);
            if ((descriptor.Flags & VirtqueueFlags.Indirect) != 0)
            {
                throw Poison(
                    VirtqueueViolation.NestedIndirect,
                    $"entry {index} of the indirect table of descriptor {owner} is itself INDIRECT (flags 0x{descriptor.Flags:x})");
            }
            Accept(descriptor, chain, owner, index);
            if ((descriptor.Flags & VirtqueueFlags.Next) == 0)
            {
                return;
            }
            if (descriptor.Next >= entries)
            {
                throw Poison(
                    VirtqueueViolation.NextOutOfRange,
                    $"entry {index} of the indirect table of descriptor {owner} chains to {descriptor.Next}, the table has {entries} entries");
            }
            index = descriptor.Next;
        }
    }

    /// <summary>
    /// Admits one buffer into the snapshot once it is known to be guest memory and in order. <paramref name="owner"/>
    /// is the ring descriptor whose indirect table holds it, or <see cref="NotIndirect"/>; the message naming it is
    /// built only on the failure path, because building it per descriptor allocated on every indirect pop.
    /// </summary>
    private void Accept(RawDescriptor descriptor, DescriptorChain chain, int owner, ushort index)
    {
        bool writable = (descriptor.Flags & VirtqueueFlags.Write) != 0;
        if (!writable && chain.WritableCount != 0)
        {
            string where = Where(owner);
            throw Poison(
                VirtqueueViolation.ReadableAfterWritable,
                $"{where} {index} is device-readable but follows {chain.WritableCount} device-writable buffer(s) in the chain from head {chain.HeadIndex}");
        }
        if (!Memory.Contains(descriptor.Address, descriptor.Length))
        {
            string where = Where(owner);
            string wraps = descriptor.Length != 0 && descriptor.Address + (descriptor.Length - 1UL) < descriptor.Address ? " (wraps past 2^64)" : "";
            throw Poison(
                VirtqueueViolation.BufferOutsideMemory,
                $"{where} {index} describes 0x{descriptor.Address:x}+0x{descriptor.Length:x}{wraps}, outside guest memory");
        }
        chain.Add(new ChainBuffer(descriptor.Address, descriptor.Length, writable));
    }

    private const int NotIndirect = -1;

    private static string Where(int owner) => owner == NotIndirect ? "descriptor" : $"indirect entry of descriptor {owner},";

    private VirtqueueException Poison(VirtqueueViolation violation, string detail)
    {
        _violation = violation;
        _poisonDetail = detail;
        return new VirtqueueException(violation, detail);
    }

    private void ThrowIfPoisoned()
    {
        if (_violation is { } violation)
        {
            throw new VirtqueueException(violation, $"queue poisoned until reset: {_poisonDetail}");
        }
    }
}
