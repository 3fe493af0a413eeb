using Lguest.Native.Boot;
using Lguest.Native.Memory;
using static Lguest.Native.Tests.Boot.BootTestSupport;

namespace Lguest.Native.Tests.Boot;

public sealed class BzImageLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(16 * MiB);

    public void Dispose()
    {
        _memory.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(0, 5 * 512)] // 0 means 4 setup sectors
    [InlineData(3, 4 * 512)]
    [InlineData(1, 2 * 512)]
    public void Protected_mode_code_after_the_setup_sectors_goes_to_1MiB(byte setupSectors, int expectedOffset)
    {
        byte[] payload = Pattern(70_000, 4); // more than one 64 KiB copy chunk
        var image = new BzImageBuilder { SetupSectors = setupSectors, Payload = payload, Code32Start = 0x100200 };
        Assert.Equal(expectedOffset, image.PayloadOffset);

        LoadedKernel kernel = KernelLoader.Load(_memory, _dir.Write("bzImage", image.Build()));

        Assert.Equal(KernelFormat.BzImage, kernel.Format);
        Assert.Equal(0x100200UL, kernel.EntryPoint);
        Assert.Equal(0x100000UL, kernel.LowestAddress);
        Assert.Equal(0x100000UL + (ulong)payload.Length, kernel.HighestAddress);
        Assert.Equal(payload, _memory.ReadGuest(0x100000, payload.Length));
        Assert.Equal(0, _memory.Read<byte>(0x100000 + (ulong)payload.Length));
        Assert.Equal(0, _memory.Read<byte>(0x100000 - 1));
    }

    [Fact]
    public void A_payload_that_exactly_reaches_the_top_of_memory_fits()
    {
        using GuestMemory small = GuestMemory.CreateFlat(2 * MiB);
        var image = new BzImageBuilder { Payload = Pattern((int)MiB, 8) };

        LoadedKernel kernel = KernelLoader.Load(small, _dir.Write("bzImage", image.Build()));

        Assert.Equal(2 * MiB, kernel.HighestAddress);
        Assert.Equal(image.Payload[^16..], small.ReadGuest((2 * MiB) - 16, 16));
    }
}
