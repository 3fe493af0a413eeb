using Lguest.Native.Boot;
using Lguest.Native.Memory;
using static Lguest.Native.Tests.Boot.BootTestSupport;

namespace Lguest.Native.Tests.Boot;

public sealed class InitrdLoaderTests : IDisposable
{
    private static readonly LoadedKernel Kernel = new(KernelFormat.Elf32, 0x100000, 0x100000, 0x200000) { Path = "vmlinux" };

    private readonly TempDirectory _dir = new();
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(16 * MiB);

    public void Dispose()
    {
        _memory.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void The_initrd_sits_page_aligned_at_the_top_of_memory_with_its_tail_zeroed()
    {
        byte[] contents = Pattern(5000, 6);
        _memory.Fill((16 * MiB) - 0x3000, 0x3000, 0xCC);

        InitrdPlacement placed = InitrdLoader.Load(_memory, 16 * MiB, _dir.Write("initrd", contents), Kernel);

        Assert.Equal((16 * MiB) - 0x2000, placed.Address);
        Assert.Equal(0x2000UL, placed.Size); // rounded up to whole pages, as the guest is told
        Assert.Equal(contents, _memory.ReadGuest(placed.Address, contents.Length));
        Assert.All(_memory.ReadGuest(placed.Address + 5000, 0x2000 - 5000), b => Assert.Equal(0, b));
        Assert.Equal(0xCC, _memory.Read<byte>(placed.Address - 1));
    }

    [Fact]
    public void The_top_of_RAM_can_be_below_the_end_of_guest_memory()
    {
        byte[] contents = Pattern(4096, 7);
        _memory.Fill(15 * MiB, 4096, 0xCC); // stands for the device pages above RAM

        InitrdPlacement placed = InitrdLoader.Load(_memory, 15 * MiB, _dir.Write("initrd", contents), Kernel);

        Assert.Equal(new InitrdPlacement((15 * MiB) - 4096, 4096), placed);
        Assert.Equal(contents, _memory.ReadGuest(placed.Address, 4096));
        Assert.Equal(0xCC, _memory.Read<byte>(15 * MiB));
    }

    [Fact]
    public void An_empty_initrd_is_accepted_with_size_zero_at_the_top()
    {
        InitrdPlacement placed = InitrdLoader.Load(_memory, 16 * MiB, _dir.Write("initrd", []), Kernel);

        Assert.Equal(new InitrdPlacement(16 * MiB, 0), placed);
    }

    [Fact]
    public void An_initrd_that_exactly_fills_the_space_above_the_kernel_fits()
    {
        string path = _dir.Sparse("initrd", (long)((16 * MiB) - Kernel.HighestAddress));

        InitrdPlacement placed = InitrdLoader.Load(_memory, 16 * MiB, path, Kernel);

        Assert.Equal(Kernel.HighestAddress, placed.Address);
    }

    [Theory]
    [InlineData(1)] // one byte too many
    [InlineData(4096)]
    public void An_initrd_that_would_overlap_the_kernel_is_too_large(int excess)
    {
        string path = _dir.Sparse("initrd", (long)((16 * MiB) - Kernel.HighestAddress) + excess);
        _memory.Fill((16 * MiB) - 4096, 4096, 0xCC);

        BootImageException e = Assert.Throws<BootImageException>(() => InitrdLoader.Load(_memory, 16 * MiB, path, Kernel));

        Assert.Equal(BootImageError.InitrdTooLarge, e.Error);
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains("end of the kernel at 0x200000", e.Message, StringComparison.Ordinal);
        Assert.Equal(0xCC, _memory.Read<byte>((16 * MiB) - 1)); // nothing was copied
    }

    [Fact]
    public void An_initrd_larger_than_all_of_memory_is_too_large()
    {
        string path = _dir.Sparse("initrd", (long)(64 * MiB));

        BootImageException e = Assert.Throws<BootImageException>(() => InitrdLoader.Load(_memory, 16 * MiB, path, Kernel));

        Assert.Equal(BootImageError.InitrdTooLarge, e.Error);
    }

    [Fact]
    public void A_memory_top_outside_guest_memory_is_refused()
        => Assert.Throws<ArgumentOutOfRangeException>(
            () => InitrdLoader.Load(_memory, 32 * MiB, _dir.Write("initrd", [1]), Kernel));
}
