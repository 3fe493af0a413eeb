using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>One region of SET_MEM_TABLE: where the front end's memory is for the guest, for the front end, and in its file.</summary>
public readonly record struct VhostUserMemoryRegion(ulong GuestAddress, ulong Size, ulong UserAddress, ulong MmapOffset)
{
    public const int EncodedSize = 32;
}

/// <summary>
/// SET_MEM_TABLE's payload: u32 count, u32 padding, then count regions. Each region's descriptor travels with the
/// message, in the same order. Parsing checks everything that needs no descriptor: a count of 1 to 8, non-empty
/// regions, no address arithmetic wrapping, and no two regions sharing guest or user addresses.
/// </summary>
public sealed record VhostUserMemoryTable(IReadOnlyList<VhostUserMemoryRegion> Regions) : VhostUserPayload
{
    /// <summary>VHOST_MEMORY_BASELINE_NREGIONS: without CONFIGURE_MEM_SLOTS, a table has at most eight regions.</summary>
    public const int MaxRegions = 8;

    public const int HeaderSize = 8;

    public override int Size => HeaderSize + Regions.Count * VhostUserMemoryRegion.EncodedSize;

    public override void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Regions.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], 0);
        for (int i = 0; i < Regions.Count; i++)
        {
            Span<byte> r = destination[(HeaderSize + i * VhostUserMemoryRegion.EncodedSize)..];
            BinaryPrimitives.WriteUInt64LittleEndian(r, Regions[i].GuestAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(r[8..], Regions[i].Size);
            BinaryPrimitives.WriteUInt64LittleEndian(r[16..], Regions[i].UserAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(r[24..], Regions[i].MmapOffset);
        }
    }

    internal static VhostUserMemoryTable Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < HeaderSize)
        {
            throw new VhostUserProtocolException(VhostUserViolation.PayloadSizeMismatch, $"{request} payload is {payload.Length} bytes, shorter than its {HeaderSize}-byte header");
        }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        if (count == 0 || count > MaxRegions)
        {
            throw new VhostUserProtocolException(VhostUserViolation.MemoryRegionCount, $"{request} has {count} regions; a table has 1 to {MaxRegions}");
        }
        RequireSize(request, payload, HeaderSize + (int)count * VhostUserMemoryRegion.EncodedSize);

        var regions = new VhostUserMemoryRegion[count];
        for (int i = 0; i < regions.Length; i++)
        {
            ReadOnlySpan<byte> r = payload[(HeaderSize + i * VhostUserMemoryRegion.EncodedSize)..];
            regions[i] = new VhostUserMemoryRegion(
                BinaryPrimitives.ReadUInt64LittleEndian(r),
                BinaryPrimitives.ReadUInt64LittleEndian(r[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(r[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(r[24..]));
            CheckRegion(i, regions[i]);
        }
        for (int i = 0; i < regions.Length; i++)
        {
            for (int j = i + 1; j < regions.Length; j++)
            {
                if (Overlap(regions[i].GuestAddress, regions[j].GuestAddress, regions[i].Size, regions[j].Size))
                {
                    throw new VhostUserProtocolException(
                        VhostUserViolation.GuestRangesOverlap,
                        $"regions {i} (guest 0x{regions[i].GuestAddress:x}+0x{regions[i].Size:x}) and {j} (guest 0x{regions[j].GuestAddress:x}+0x{regions[j].Size:x}) overlap");
                }
                if (Overlap(regions[i].UserAddress, regions[j].UserAddress, regions[i].Size, regions[j].Size))
                {
                    throw new VhostUserProtocolException(
                        VhostUserViolation.UserRangesOverlap,
                        $"regions {i} (user 0x{regions[i].UserAddress:x}+0x{regions[i].Size:x}) and {j} (user 0x{regions[j].UserAddress:x}+0x{regions[j].Size:x}) overlap");
                }
            }
        }
        return new VhostUserMemoryTable(regions);
    }

    private static void CheckRegion(int index, VhostUserMemoryRegion region)
    {
        if (region.Size == 0)
        {
            throw new VhostUserProtocolException(VhostUserViolation.MemoryRegionEmpty, $"region {index} at guest 0x{region.GuestAddress:x} has size 0");
        }
        ulong last = region.Size - 1;
        string? wraps = region.GuestAddress + last < region.GuestAddress ? "guest_addr"
            : region.UserAddress + last < region.UserAddress ? "user_addr"
            : region.MmapOffset + last < region.MmapOffset ? "mmap_offset"
            : null;
        if (wraps is not null)
        {
            throw new VhostUserProtocolException(VhostUserViolation.MemoryRegionWraps, $"region {index}: {wraps} + size 0x{region.Size:x} wraps past 2^64");
        }
    }

    /// <summary>Whether [a, a+aSize) and [b, b+bSize) share a byte; sizes are non-zero and neither range wraps.</summary>
    private static bool Overlap(ulong a, ulong b, ulong aSize, ulong bSize) => a <= b + (bSize - 1) && b <= a + (aSize - 1);
}
