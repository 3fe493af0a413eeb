using System.Globalization;
using System.Runtime.InteropServices;
using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class MemoryMappingTests
{
    /// <summary>The permissions of the mapping holding <paramref name="address"/>, from /proc/self/maps; null if unmapped.</summary>
    private static string? ProtectionAt(nint address)
    {
        ulong target = (ulong)address;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            string[] fields = line.Split(' ', 3);
            string[] range = fields[0].Split('-');
            ulong start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            ulong end = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (target >= start && target < end)
            {
                return fields[1];
            }
        }
        return null;
    }

    [Fact]
    public void Guarded_memory_is_read_write_and_fenced_by_inaccessible_pages()
    {
        ulong length = 4 * (ulong)MemoryMapping.PageSize;
        using MemoryMapping mapping = MemoryMapping.AllocateGuarded(length);
        nint end = mapping.Address + (nint)length;

        Assert.Equal(length, mapping.Length);
        Assert.Equal("---p", ProtectionAt(mapping.Address - 1));
        Assert.Equal("rw-p", ProtectionAt(mapping.Address));
        Assert.Equal("rw-p", ProtectionAt(end - 1));
        Assert.Equal("---p", ProtectionAt(end));
        Assert.Equal("---p", ProtectionAt(end + MemoryMapping.PageSize - 1));
    }

    [Fact]
    public void Guarded_memory_starts_zeroed_and_is_usable_to_the_last_byte()
    {
        ulong length = 2 * (ulong)MemoryMapping.PageSize;
        using MemoryMapping mapping = MemoryMapping.AllocateGuarded(length);
        Span<byte> all = mapping.AsSpan(0, (int)length);

        Assert.True(all.IndexOfAnyExcept((byte)0) < 0);
        all[^1] = 0xA5;
        Assert.Equal(0xA5, Marshal.ReadByte(mapping.Address + (nint)length - 1));
    }

    [Fact]
    public void Guarded_lengths_must_be_whole_pages()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryMapping.AllocateGuarded(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryMapping.AllocateGuarded((ulong)MemoryMapping.PageSize + 1));
    }

    [Fact]
    public void A_memfd_mapped_twice_shares_its_pages_with_both_mappings_and_the_file()
    {
        ulong page = (ulong)MemoryMapping.PageSize;
        using FileDescriptor memfd = MemFd.Create("lguest-test", 3 * page);
        Assert.Equal((long)(3 * page), FileIo.GetSize(memfd));

        using MemoryMapping whole = MemoryMapping.MapShared(memfd, 0, 3 * page);
        using MemoryMapping tail = MemoryMapping.MapShared(memfd, page + 10, 100);

        whole.AsSpan(page + 10, 5).Fill(0x5A);
        Assert.Equal([0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0], tail.AsSpan(0, 6).ToArray());

        tail.AsSpan(99, 1)[0] = 0x77;
        var viaFile = new byte[1];
        Assert.Equal(1, FileIo.Pread(memfd, viaFile, (long)page + 109));
        Assert.Equal(0x77, viaFile[0]);

        FileIo.Pwrite(memfd, "hi"u8, 7);
        Assert.Equal("hi"u8.ToArray(), whole.AsSpan(7, 2).ToArray());
    }

    [Fact]
    public void A_read_only_shared_mapping_is_mapped_read_only()
    {
        using FileDescriptor memfd = MemFd.Create("lguest-ro", (ulong)MemoryMapping.PageSize);
        using MemoryMapping mapping = MemoryMapping.MapShared(memfd, 0, (ulong)MemoryMapping.PageSize, writable: false);
        Assert.Equal("r--s", ProtectionAt(mapping.Address));
    }
}
