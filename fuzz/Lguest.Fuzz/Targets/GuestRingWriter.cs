using System.Buffers.Binary;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Fuzz.Targets;

/// <summary>Writes descriptors and avail entries the way a driver would, for seeds and the block target's requests.</summary>
internal static class GuestRingWriter
{
    public const ushort Next = 1;
    public const ushort Write = 2;
    public const ushort Indirect = 4;

    public static void Descriptor(Span<byte> memory, SplitQueueLayout layout, int index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = memory[(int)(layout.DescriptorTable + 16UL * (uint)index)..];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Puts <paramref name="head"/> in avail slot <paramref name="slot"/> and publishes avail.idx = slot + 1.</summary>
    public static void Publish(Span<byte> memory, SplitQueueLayout layout, ushort slot, ushort head)
    {
        int avail = (int)layout.AvailableRing;
        BinaryPrimitives.WriteUInt16LittleEndian(memory[(avail + 4 + 2 * (slot % layout.Size))..], head);
        BinaryPrimitives.WriteUInt16LittleEndian(memory[(avail + 2)..], (ushort)(slot + 1));
    }

    public static void Descriptor(GuestMemory memory, SplitQueueLayout layout, int index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
        memory.Write(layout.DescriptorTable + 16UL * (uint)index, d);
    }

    public static void Publish(GuestMemory memory, SplitQueueLayout layout, ushort slot, ushort head)
    {
        memory.Write(layout.AvailableRing + 4 + 2UL * (ushort)(slot % layout.Size), head);
        memory.Write(layout.AvailableRing + 2, (ushort)(slot + 1));
    }

    /// <summary>used.idx and the id of the element just before it.</summary>
    public static (ushort Index, uint LastId, uint LastLength) Used(GuestMemory memory, SplitQueueLayout layout)
    {
        ushort index = memory.Read<ushort>(layout.UsedRing + 2);
        ulong element = layout.UsedRing + 4 + 8UL * (ushort)((ushort)(index - 1) % layout.Size);
        return (index, memory.Read<uint>(element), memory.Read<uint>(element + 4));
    }
}
