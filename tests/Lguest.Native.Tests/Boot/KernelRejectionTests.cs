using Lguest.Native.Boot;
using Lguest.Native.Memory;
using static Lguest.Native.Tests.Boot.BootTestSupport;

namespace Lguest.Native.Tests.Boot;

public sealed class KernelRejectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(16 * MiB);

    public void Dispose()
    {
        _memory.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Random_bytes_are_not_a_kernel()
    {
        byte[] noise = new byte[8192];
        new Random(1234).NextBytes(noise);
        noise[0] = 0; // not "\x7fELF"
        noise[0x202] = 0; // not "HdrS"

        AssertRejected(BootImageError.NotAKernel, _dir.Write("noise", noise), "HdrS");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(51)]
    public void A_file_shorter_than_any_header_is_not_a_kernel_even_with_the_ELF_magic(int length)
    {
        byte[] bytes = new byte[length];
        "\u007fELF"u8[..Math.Min(4, length)].CopyTo(bytes);

        AssertRejected(BootImageError.NotAKernel, _dir.Write("tiny", bytes), "too short");
    }

    [Fact]
    public void A_non_ELF_file_too_short_for_the_bzImage_header_is_not_a_kernel()
        => AssertRejected(BootImageError.NotAKernel, _dir.Write("short", Pattern(0x217, 1)), "setup header");

    [Fact]
    public void A_bzImage_that_ends_inside_its_setup_sectors_is_not_a_kernel()
    {
        byte[] whole = new BzImageBuilder { SetupSectors = 3 }.Build(); // no payload at all

        AssertRejected(BootImageError.NotAKernel, _dir.Write("bzImage", whole), "setup sectors");
    }

    [Fact]
    public void A_truncated_ELF64_header_is_malformed()
    {
        byte[] header = new ElfImageBuilder(is64: true).Build()[..60];

        AssertRejected(BootImageError.MalformedElf, _dir.Write("vmlinux", header), "64-byte ELF64 header");
    }

    [Theory]
    [InlineData(false, "class")]
    [InlineData(true, "class")]
    [InlineData(false, "big-endian")]
    [InlineData(true, "big-endian")]
    [InlineData(false, "type")]
    [InlineData(true, "type")]
    [InlineData(false, "machine")]
    [InlineData(true, "machine")]
    [InlineData(false, "phentsize")]
    [InlineData(true, "phentsize")]
    [InlineData(false, "phnum zero")]
    [InlineData(true, "phnum zero")]
    [InlineData(false, "phnum absurd")]
    [InlineData(true, "phnum absurd")]
    [InlineData(false, "program headers past end")]
    [InlineData(true, "program headers past end")]
    [InlineData(false, "filesz above memsz")]
    [InlineData(true, "filesz above memsz")]
    [InlineData(false, "segment offset past end")]
    [InlineData(true, "segment offset past end")]
    [InlineData(false, "segment size past end")]
    [InlineData(true, "segment size past end")]
    [InlineData(false, "nothing to load")]
    [InlineData(true, "nothing to load")]
    public void Malformed_ELF_is_rejected_before_guest_memory_is_touched(bool is64, string malformation)
    {
        var elf = new ElfImageBuilder(is64);
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(64, 1), 64);
        ElfSegment second = elf.Segment(ElfImageBuilder.PtLoad, 0x102000, Pattern(64, 2), 0x1000);
        string expected;
        switch (malformation)
        {
            case "class":
                elf.Class = 3;
                expected = "ELF class 3";
                break;
            case "big-endian":
                elf.Data = 2;
                expected = "little-endian";
                break;
            case "type":
                elf.Type = 3; // ET_DYN
                expected = "e_type 3";
                break;
            case "machine":
                elf.Machine = (ushort)(is64 ? 3 : 62);
                expected = "e_machine";
                break;
            case "phentsize":
                elf.ProgramHeaderSize += 8;
                expected = "e_phentsize";
                break;
            case "phnum zero":
                elf.ProgramHeaderCount = 0;
                expected = "e_phnum 0";
                break;
            case "phnum absurd":
                elf.ProgramHeaderCount = (ushort)((65536 / (is64 ? 56 : 32)) + 1);
                expected = "e_phnum";
                break;
            case "program headers past end":
                elf.ProgramHeaderOffset = 0x10000;
                expected = "program headers";
                break;
            case "filesz above memsz":
                second.FileSize = 0x1001;
                expected = "p_filesz";
                break;
            case "segment offset past end":
                second.FileOffset = 0x10000;
                expected = "segment 1: file bytes";
                break;
            case "segment size past end":
                second.FileSize = 65; // the segment's bytes are the last in the file
                expected = "segment 1: file bytes";
                break;
            case "nothing to load":
                elf = new ElfImageBuilder(is64);
                elf.Segment(ElfImageBuilder.PtNote, 0x100000, Pattern(16, 3), 16);
                elf.Segment(ElfImageBuilder.PtLoad, 0x100000, [], 0);
                expected = "no PT_LOAD";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(malformation));
        }

        AssertRejected(BootImageError.MalformedElf, _dir.Write("vmlinux", elf.Build()), expected);
        Assert.All(_memory.ReadGuest(0x100000, 64), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(false, 15 * MiB, 2 * MiB)] // runs off the top
    [InlineData(true, 15 * MiB, 2 * MiB)]
    [InlineData(false, 0xfffff000UL, 0x2000UL)] // far beyond 16 MiB
    [InlineData(true, 0xfffffffffffff000UL, 0x2000UL)] // p_paddr + p_memsz wraps 2^64
    [InlineData(true, 0x800UL, 0x100UL)] // on top of the zero page
    [InlineData(false, 0x1000UL, 0x900UL)] // on top of the command line
    public void A_segment_outside_the_memory_a_kernel_may_use_is_too_large(bool is64, ulong address, ulong memorySize)
    {
        var elf = new ElfImageBuilder(is64);
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(64, 1), 64);
        elf.Segment(ElfImageBuilder.PtLoad, address, Pattern(16, 2), memorySize);

        AssertRejected(BootImageError.KernelTooLarge, _dir.Write("vmlinux", elf.Build()), "segment 1");
        Assert.All(_memory.ReadGuest(0x100000, 64), b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_bzImage_larger_than_memory_above_1MiB_is_too_large()
    {
        using GuestMemory small = GuestMemory.CreateFlat(2 * MiB);
        byte[] image = new BzImageBuilder { Payload = Pattern((int)MiB + 1, 3) }.Build();
        string path = _dir.Write("bzImage", image);

        BootImageException e = Assert.Throws<BootImageException>(() => KernelLoader.Load(small, path));

        Assert.Equal(BootImageError.KernelTooLarge, e.Error);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.All(small.ReadGuest(MiB, 4096), b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_bzImage_that_fits_only_by_reaching_into_the_device_pages_is_too_large()
    {
        // lguest.c maps RAM plus DEVICE_PAGES; the device page is the first page above RAM. A kernel checked
        // against the whole mapping would land on it: the bound is RAM.
        using GuestMemory memory = GuestMemory.CreateFlat(2 * MiB + (256 * 4096));
        byte[] image = new BzImageBuilder { Payload = Pattern((int)MiB + 4096, 3) }.Build();
        string path = _dir.Write("bzImage", image);

        BootImageException e = Assert.Throws<BootImageException>(() => KernelLoader.Load(memory, path, ramSize: 2 * MiB));

        Assert.Equal(BootImageError.KernelTooLarge, e.Error);
        Assert.Contains("past the end of guest RAM (0x200000 bytes) into the device page", e.Message, StringComparison.Ordinal);
        Assert.All(memory.ReadGuest(2 * MiB, 4096), b => Assert.Equal(0, b)); // the device page is untouched
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_elf_segment_that_ends_in_the_device_pages_is_too_large(bool is64)
    {
        using GuestMemory memory = GuestMemory.CreateFlat(2 * MiB + (256 * 4096));
        var elf = new ElfImageBuilder(is64);
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(64, 1), MiB + 1); // one byte onto the device page
        string path = _dir.Write("vmlinux", elf.Build());

        BootImageException e = Assert.Throws<BootImageException>(() => KernelLoader.Load(memory, path, ramSize: 2 * MiB));

        Assert.Equal(BootImageError.KernelTooLarge, e.Error);
        Assert.Contains("segment 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("into the device page", e.Message, StringComparison.Ordinal);
        Assert.All(memory.ReadGuest(0x100000, 64), b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_kernel_that_ends_exactly_at_the_top_of_RAM_loads()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(2 * MiB + (256 * 4096));
        var elf = new ElfImageBuilder(is64: false) { Entry = 0x100000 };
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(64, 1), MiB);

        LoadedKernel kernel = KernelLoader.Load(memory, _dir.Write("vmlinux", elf.Build()), ramSize: 2 * MiB);

        Assert.Equal(0x100000UL, kernel.EntryPoint);
    }

    private void AssertRejected(BootImageError error, string path, string problem)
    {
        BootImageException e = Assert.Throws<BootImageException>(() => KernelLoader.Load(_memory, path));
        Assert.Equal(error, e.Error);
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }
}
