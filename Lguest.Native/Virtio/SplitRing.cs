using System.Runtime.CompilerServices;
using Lguest.Native.Memory;

namespace Lguest.Native.Virtio;

/// <summary>
/// Host pointers to every shared field of a split ring, resolved and checked once when a queue is built so the hot
/// path never translates an address. Each part must sit inside one guest memory region (as vhost-user requires
/// of ring addresses too) and be aligned as §2.7 says, which also makes every u16/u32 field naturally aligned
/// for <see cref="Volatile"/> access.
/// </summary>
internal readonly unsafe struct SplitRing
{
    public readonly ushort Size;
    public readonly byte* Descriptors;
    public readonly ushort* AvailFlags;
    public readonly ushort* AvailIndex;
    public readonly ushort* AvailEntries;
    public readonly ushort* UsedEvent;
    public readonly ushort* UsedFlags;
    public readonly ushort* UsedIndex;
    public readonly uint* UsedElements;
    public readonly ushort* AvailEvent;

    private SplitRing(ushort size, byte* descriptors, byte* avail, byte* used)
    {
        Size = size;
        Descriptors = descriptors;
        AvailFlags = (ushort*)avail;
        AvailIndex = (ushort*)(avail + 2);
        AvailEntries = (ushort*)(avail + 4);
        UsedEvent = (ushort*)(avail + 4 + 2 * size);
        UsedFlags = (ushort*)used;
        UsedIndex = (ushort*)(used + 2);
        UsedElements = (uint*)(used + 4);
        AvailEvent = (ushort*)(used + 4 + 8 * size);
    }

    /// <summary>Checks a guest-supplied layout and pins down where each field lives in this process.</summary>
    public static SplitRing Resolve(GuestMemory memory, SplitQueueLayout layout)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ushort size = layout.Size;
        if (size == 0 || (size & (size - 1)) != 0 || size > VirtqueueFlags.MaxQueueSize)
        {
            throw new VirtqueueException(
                VirtqueueViolation.InvalidQueueSize,
                $"queue size {size} is not a power of two between 1 and {VirtqueueFlags.MaxQueueSize}");
        }
        byte* desc = Part(memory, "descriptor table", layout.DescriptorTable, SplitQueueLayout.DescriptorBytes(size), 16);
        byte* avail = Part(memory, "available ring", layout.AvailableRing, SplitQueueLayout.AvailableBytes(size), 2);
        byte* used = Part(memory, "used ring", layout.UsedRing, SplitQueueLayout.UsedBytes(size), 4);
        return new SplitRing(size, desc, avail, used);
    }

    /// <summary>The avail ring slot a free-running index refers to (size is a power of two).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort* AvailSlot(ushort index) => AvailEntries + (index & (Size - 1));

    /// <summary>The used element {id, len} a free-running index refers to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint* UsedSlot(ushort index) => UsedElements + 2 * (index & (Size - 1));

    private static byte* Part(GuestMemory memory, string name, ulong address, ulong length, ulong alignment)
    {
        if (address % alignment != 0)
        {
            throw new VirtqueueException(
                VirtqueueViolation.RingOutsideMemory,
                $"{name} at 0x{address:x} is not {alignment}-byte aligned");
        }
        if (!memory.TryGetHostAddress(address, length, out nint host))
        {
            throw new VirtqueueException(
                VirtqueueViolation.RingOutsideMemory,
                $"{name} at 0x{address:x}+0x{length:x} is not inside one guest memory region");
        }
        return (byte*)host;
    }
}
