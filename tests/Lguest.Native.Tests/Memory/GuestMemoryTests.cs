using System.Runtime.InteropServices;
using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.Tests.Memory;

public sealed class GuestMemoryTests
{
    private static readonly ulong Page = (ulong)MemoryMapping.PageSize;

    private static GuestMemoryRegion Region(ulong gpa, ulong pages, ulong userAddress = 0)
        => new(gpa, MemoryMapping.AllocateGuarded(pages * Page), userAddress);

    /// <summary>A [0, 2p) and B [2p, 4p) adjacent; C [6p, 8p) after a two-page hole.</summary>
    private static GuestMemory ThreeRegions()
        => new([Region(6 * Page, 2), Region(0, 2), Region(2 * Page, 2)]);

    [Fact]
    public void Flat_memory_accepts_a_range_ending_exactly_at_the_end_and_rejects_one_byte_more()
    {
        ulong size = 4 * Page;
        using GuestMemory memory = GuestMemory.CreateFlat(size);

        Assert.Equal(size, memory.Size);
        Assert.True(memory.Contains(0, size));
        Assert.True(memory.Contains(size - 1, 1));
        Assert.False(memory.Contains(size - 1, 2));
        Assert.False(memory.Contains(size, 1));
        Assert.False(memory.Contains(0, size + 1));

        var buffer = new byte[8];
        memory.Read(size - 8, buffer);
        Assert.Throws<GuestMemoryFaultException>(() => memory.Read(size - 7, buffer));
        Assert.Throws<GuestMemoryFaultException>(() => memory.Write(size, [1]));
    }

    [Fact]
    public void Zero_length_ranges_are_valid_inside_memory_and_one_past_its_end_but_not_beyond()
    {
        ulong size = 2 * Page;
        using GuestMemory memory = GuestMemory.CreateFlat(size);

        Assert.True(memory.Contains(0, 0));
        Assert.True(memory.Contains(size, 0));
        Assert.False(memory.Contains(size + 1, 0));
        Assert.False(memory.Contains(ulong.MaxValue, 0));

        memory.Read(size, Span<byte>.Empty);
        memory.Write(size, ReadOnlySpan<byte>.Empty);
        Assert.Equal(0, memory.Translate(size, 0, new IoVector[1]));
        Assert.True(memory.GetSpan(size, 0).IsEmpty);
        Assert.True(memory.TryGetHostAddress(size, 0, out nint end));
        Assert.True(memory.TryGetHostAddress(size - 1, 1, out nint last));
        Assert.Equal(last + 1, end);
        Assert.Throws<GuestMemoryFaultException>(() => memory.GetSpan(size + 1, 0));
    }

    [Fact]
    public void Ranges_that_wrap_past_two_to_the_64_are_rejected()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(Page);

        Assert.False(memory.Contains(1, ulong.MaxValue));
        Assert.False(memory.Contains(ulong.MaxValue, 2));
        Assert.False(memory.Contains(Page - 1, ulong.MaxValue));
        Assert.Equal(-1, memory.Translate(1, ulong.MaxValue, new IoVector[4]));
        Assert.Throws<GuestMemoryFaultException>(() => memory.Clear(1, ulong.MaxValue));
        Assert.False(memory.TryGetHostAddress(1, ulong.MaxValue, out _));
    }

    [Fact]
    public void A_region_at_the_very_top_of_the_address_space_works_to_its_last_byte()
    {
        ulong top = ulong.MaxValue - Page + 1;
        using var memory = new GuestMemory([Region(top, 1)]);

        Assert.Equal(ulong.MaxValue, memory.Regions[0].LastAddress);
        Assert.True(memory.Contains(ulong.MaxValue, 1));
        Assert.True(memory.Contains(top, Page));
        Assert.False(memory.Contains(ulong.MaxValue, 2));
        Assert.False(memory.Contains(top - 1, 1));

        memory.Write(ulong.MaxValue, (byte)0x42);
        Assert.Equal(0x42, memory.Read<byte>(ulong.MaxValue));
    }

    [Fact]
    public void Regions_are_sorted_and_a_copy_crosses_an_adjacent_boundary()
    {
        using GuestMemory memory = ThreeRegions();
        Assert.Equal([0UL, 2 * Page, 6 * Page], memory.Regions.Select(r => r.GuestPhysicalAddress));

        byte[] data = Enumerable.Range(1, 100).Select(i => (byte)i).ToArray();
        ulong at = 2 * Page - 40;
        memory.Write(at, data);

        var back = new byte[100];
        memory.Read(at, back);
        Assert.Equal(data, back);

        // The first 40 bytes landed at the end of A, the other 60 at the start of B.
        Assert.Equal(data[..40], memory.Regions[0].Mapping!.AsSpan(Page * 2 - 40, 40).ToArray());
        Assert.Equal(data[40..], memory.Regions[1].Mapping!.AsSpan(0, 60).ToArray());
    }

    [Fact]
    public void Translate_splits_at_an_adjacent_boundary_into_one_iovec_per_region()
    {
        using GuestMemory memory = ThreeRegions();
        ulong at = 2 * Page - 40;
        var into = new IoVector[4];

        Assert.Equal(2, memory.Translate(at, 100, into));

        Assert.Equal(memory.Regions[0].Mapping!.Address + (nint)(2 * Page - 40), into[0].Base);
        Assert.Equal(40UL, (ulong)into[0].Length);
        Assert.Equal(memory.Regions[1].Mapping!.Address, into[1].Base);
        Assert.Equal(60UL, (ulong)into[1].Length);

        Assert.Equal(-1, memory.Translate(at, 100, new IoVector[1]));
    }

    [Fact]
    public void Nothing_crosses_the_hole()
    {
        using GuestMemory memory = ThreeRegions();
        ulong holeStart = 4 * Page, holeEnd = 6 * Page;

        Assert.True(memory.Contains(0, holeStart));
        Assert.False(memory.Contains(0, holeStart + 1));
        Assert.False(memory.Contains(holeStart - 1, 2));
        Assert.False(memory.Contains(holeEnd - 1, 2));
        Assert.True(memory.Contains(holeEnd, 1));
        Assert.False(memory.Contains(holeStart + 5, 0));
        Assert.True(memory.Contains(holeStart, 0));

        Assert.Equal(-1, memory.Translate(holeStart - 10, 20, new IoVector[4]));
        Assert.Throws<GuestMemoryFaultException>(() => memory.Read(holeStart - 10, new byte[20]));
        Assert.Throws<GuestMemoryFaultException>(() => memory.Write(holeEnd - 1, [1, 2]));
        Assert.Throws<GuestMemoryFaultException>(() => memory.Clear(0, holeEnd));
        Assert.False(memory.TryGetHostAddress(holeStart - 1, 2, out _));
    }

    [Fact]
    public void A_failed_copy_touches_nothing()
    {
        using GuestMemory memory = ThreeRegions();
        ulong holeStart = 4 * Page;

        Assert.Throws<GuestMemoryFaultException>(() => memory.Write(holeStart - 4, [9, 9, 9, 9, 9]));

        Assert.Equal(0U, memory.Read<uint>(holeStart - 4));
    }

    [Fact]
    public void Single_region_accessors_refuse_a_range_that_crosses_even_an_adjacent_boundary()
    {
        using GuestMemory memory = ThreeRegions();

        Assert.False(memory.TryGetHostAddress(2 * Page - 1, 2, out _));
        Assert.Throws<GuestMemoryFaultException>(() => memory.GetSpan(2 * Page - 1, 2));
        Assert.True(memory.TryGetHostAddress(2 * Page, 2, out nint b));
        Assert.Equal(memory.Regions[1].Mapping!.Address, b);
    }

    [Fact]
    public void Clear_spans_adjacent_regions()
    {
        using GuestMemory memory = ThreeRegions();
        memory.Write(2 * Page - 2, [1, 2, 3, 4]);

        memory.Clear(2 * Page - 1, 2);

        var back = new byte[4];
        memory.Read(2 * Page - 2, back);
        Assert.Equal(new byte[] { 1, 0, 0, 4 }, back);
    }

    [Fact]
    public void Overlapping_regions_are_rejected_at_construction()
    {
        GuestMemoryRegion a = Region(0, 2), b = Region(Page, 2);
        try
        {
            var e = Assert.Throws<ArgumentException>(() => new GuestMemory([b, a]));
            Assert.Contains("overlap", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            a.Mapping!.Dispose();
            b.Mapping!.Dispose();
        }

        GuestMemoryRegion c = Region(4 * Page, 1), d = Region(4 * Page, 1);
        try
        {
            Assert.Throws<ArgumentException>(() => new GuestMemory([c, d]));
        }
        finally
        {
            c.Mapping!.Dispose();
            d.Mapping!.Dispose();
        }

        Assert.Throws<ArgumentException>(() => new GuestMemory([]));
    }

    [Fact]
    public void User_addresses_translate_inside_a_region_and_not_outside_or_across_its_end()
    {
        const ulong userA = 0x7f00_0000_0000, userB = 0x5500_0000_0000;
        using var memory = new GuestMemory([Region(0, 2, userA), Region(0x10_0000, 1, userB)]);

        Assert.True(memory.TryTranslateUserAddress(userA + 0x10, 16, out ulong gpa));
        Assert.Equal(0x10UL, gpa);
        Assert.True(memory.TryTranslateUserAddress(userB + Page - 8, 8, out gpa));
        Assert.Equal(0x10_0000 + Page - 8, gpa);

        Assert.False(memory.TryTranslateUserAddress(userB + Page - 8, 9, out _)); // straddles B's end
        Assert.False(memory.TryTranslateUserAddress(userB + Page, 1, out _)); // just past B
        Assert.False(memory.TryTranslateUserAddress(userA - 1, 1, out _)); // just before A
        Assert.False(memory.TryTranslateUserAddress(userA - 1, 2, out _)); // straddles A's start
        Assert.False(memory.TryTranslateUserAddress(0x1000, 1, out _));
    }

    [Fact]
    public void A_region_without_a_user_address_is_never_the_target_of_a_user_address()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(4 * Page);

        Assert.False(memory.TryTranslateUserAddress(0x1000, 8, out _));
        Assert.False(memory.TryTranslateUserAddress(0, 1, out _));
    }

    [Fact]
    public unsafe void PointerTo_requires_natural_alignment_and_a_single_region()
    {
        using GuestMemory memory = ThreeRegions();

        Assert.True(memory.PointerTo<ulong>(8) == (ulong*)memory.Regions[0].Mapping!.Address + 1);
        Assert.True(memory.PointerTo<ushort>(2 * Page - 2) != null);
        Assert.True(memory.PointerTo<uint>(2) == null);
        Assert.True(memory.PointerTo<ushort>(1) == null);
        Assert.True(memory.PointerTo<byte>(1) != null);
        Assert.True(memory.PointerTo<uint>(4 * Page) == null); // in the hole
        Assert.True(memory.PointerTo<ulong>(4 * Page - 8) != null);
        Assert.True(memory.PointerTo<ulong>(ulong.MaxValue - 7) == null);
    }

    [Fact]
    public unsafe void PointerTo_refuses_an_aligned_field_that_crosses_into_the_next_region()
    {
        byte* a = (byte*)NativeMemory.AlignedAlloc(64, 16);
        byte* b = (byte*)NativeMemory.AlignedAlloc(64, 16);
        try
        {
            // A is 6 bytes at 0, B follows at 6: a u32 at 4 is aligned but half in each.
            using var memory = new GuestMemory([GuestMemoryRegion.Unowned(0, (nint)a, 6), GuestMemoryRegion.Unowned(6, (nint)b, 10)]);
            Assert.True(memory.Contains(4, 4));
            Assert.True(memory.PointerTo<uint>(4) == null);
            Assert.True(memory.PointerTo<ushort>(4) == (ushort*)(a + 4));
            Assert.True(memory.PointerTo<ushort>(6) == (ushort*)b);
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
        }
    }

    [Fact]
    public unsafe void PointerTo_refuses_a_guest_aligned_field_whose_host_address_is_misaligned()
    {
        byte* block = (byte*)NativeMemory.AlignedAlloc(64, 16);
        try
        {
            // Guest address 0 is aligned for anything, but this region's host copy starts one byte in.
            using var memory = new GuestMemory([GuestMemoryRegion.Unowned(0, (nint)(block + 1), 32)]);
            Assert.True(memory.PointerTo<byte>(0) == block + 1);
            Assert.True(memory.PointerTo<ushort>(0) == null);
            Assert.True(memory.PointerTo<ulong>(8) == null);
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
    }

    [Fact]
    public void Little_endian_values_round_trip_across_a_boundary()
    {
        using GuestMemory memory = ThreeRegions();

        memory.Write(2 * Page - 3, 0x1122334455667788UL);

        Assert.Equal(0x1122334455667788UL, memory.Read<ulong>(2 * Page - 3));
        Assert.Equal(0x88, memory.Read<byte>(2 * Page - 3));
    }
}
