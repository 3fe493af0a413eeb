using Lguest.Native.Boot;
using Lguest.Native.Memory;
using static Lguest.Native.Tests.Boot.BootTestSupport;

namespace Lguest.Native.Tests.Boot;

public sealed class ElfKernelLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(16 * MiB);

    public void Dispose()
    {
        _memory.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Each_PT_LOAD_lands_at_its_physical_address_with_bss_zeroed(bool is64)
    {
        byte[] text = Pattern(300, 1);
        byte[] data = Pattern(50, 2);
        var elf = new ElfImageBuilder(is64) { Entry = 0x100040 };
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, text, 300);
        elf.Segment(ElfImageBuilder.PtNote, 0, Pattern(16, 3), 16);
        elf.Segment(ElfImageBuilder.PtLoad, 0x104000, data, 0x1000);
        string path = _dir.Write("vmlinux", elf.Build());
        // Stale contents, as a reboot would leave them: .bss must still come out zero.
        _memory.Fill(0, (int)(2 * MiB), 0xCC);

        LoadedKernel kernel = KernelLoader.Load(_memory, path);

        Assert.Equal(is64 ? KernelFormat.Elf64 : KernelFormat.Elf32, kernel.Format);
        Assert.Equal(0x100040UL, kernel.EntryPoint);
        Assert.Equal(0x100000UL, kernel.LowestAddress);
        Assert.Equal(0x105000UL, kernel.HighestAddress);
        Assert.Equal(path, kernel.Path);
        Assert.Equal(text, _memory.ReadGuest(0x100000, 300));
        Assert.Equal(data, _memory.ReadGuest(0x104000, 50));
        Assert.All(_memory.ReadGuest(0x104000 + 50, 0x1000 - 50), b => Assert.Equal(0, b));
        Assert.Equal(0xCC, _memory.Read<byte>(0x100000 + 300)); // nothing past p_memsz
        Assert.Equal(0xCC, _memory.Read<byte>(0x105000));
        Assert.Equal(0xCC, _memory.Read<byte>(0)); // the note segment is not loaded, not even at 0
    }

    [Fact]
    public void Elf64_entry_point_is_taken_as_given_even_when_it_is_a_high_virtual_address()
    {
        var elf = new ElfImageBuilder(is64: true) { Entry = 0xffffffff81000000 };
        elf.Segment(ElfImageBuilder.PtLoad, 0x200000, Pattern(64, 5), 64);

        LoadedKernel kernel = KernelLoader.Load(_memory, _dir.Write("vmlinux", elf.Build()));

        Assert.Equal(0xffffffff81000000UL, kernel.EntryPoint);
        Assert.Equal(Pattern(64, 5), _memory.ReadGuest(0x200000, 64));
    }

    [Fact]
    public void A_segment_that_is_all_bss_is_cleared_and_counts_towards_the_kernel_extent()
    {
        var elf = new ElfImageBuilder(is64: false);
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(32, 9), 32);
        elf.Segment(ElfImageBuilder.PtLoad, 0x300000, [], 0x2000);
        _memory.Fill(0x300000, 0x3000, 0xCC);

        LoadedKernel kernel = KernelLoader.Load(_memory, _dir.Write("vmlinux", elf.Build()));

        Assert.Equal(0x302000UL, kernel.HighestAddress);
        Assert.All(_memory.ReadGuest(0x300000, 0x2000), b => Assert.Equal(0, b));
        Assert.Equal(0xCC, _memory.Read<byte>(0x302000));
    }
}
