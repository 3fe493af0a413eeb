using System.Buffers.Binary;
using System.Text;
using Lguest.Native.Boot;
using Lguest.Native.Memory;
using static Lguest.Native.Tests.Boot.BootTestSupport;

namespace Lguest.Native.Tests.Boot;

/// <summary>The zero page, checked byte by byte against the offsets in abi-facts.md rather than the code's constants.</summary>
public sealed class BootParametersTests : IDisposable
{
    private static readonly LoadedKernel ElfKernel = new(KernelFormat.Elf32, 0x100000, 0x100000, 0x400000) { Path = "/boot/vmlinux" };

    private readonly TempDirectory _dir = new();
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(16 * MiB);

    public BootParametersTests()
        => _memory.Fill(0, 0x2000, 0xCC); // whatever was there before must not survive

    public void Dispose()
    {
        _memory.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Zero_page_with_an_initrd_has_every_field_at_its_documented_offset()
    {
        var initrd = new InitrdPlacement(0xFFE000, 0x2000);

        BootParameters.Write(_memory, 16 * MiB, "console=hvc0 root=/dev/vda", initrd, ElfKernel);

        byte[] page = _memory.ReadGuest(0, 4096);
        Assert.Equal(1, page[0x1e8]);
        Assert.Equal(0x0207, U16(page, 0x206));
        Assert.Equal(0xFF, page[0x210]);
        Assert.Equal(0x40, page[0x211]);
        Assert.Equal(0xFFE000u, U32(page, 0x218));
        Assert.Equal(0x2000u, U32(page, 0x21c));
        Assert.Equal(0x1000u, U32(page, 0x228));
        Assert.Equal(1u, U32(page, 0x23c));
        Assert.Equal(0UL, U64(page, 0x2d0));
        Assert.Equal(16 * MiB, U64(page, 0x2d0 + 8));
        Assert.Equal(1u, U32(page, 0x2d0 + 16));
        Assert.Equal(0UL, U64(page, 0x2d0 + 20)); // a single entry
        Assert.Equal(0, page[0x1e9]); // the stale bytes are gone
        Assert.Equal(0, page[0x202]); // an ELF kernel has no setup header to copy
        Assert.Equal(0, page[4095]);
        Assert.Equal("console=hvc0 root=/dev/vda\0"u8.ToArray(), _memory.ReadGuest(0x1000, 27));
    }

    [Fact]
    public void Without_an_initrd_the_ramdisk_fields_and_loader_type_stay_zero()
    {
        BootParameters.Write(_memory, 16 * MiB, "", null, ElfKernel);

        byte[] page = _memory.ReadGuest(0, 4096);
        Assert.Equal(0, page[0x210]);
        Assert.Equal(0u, U32(page, 0x218));
        Assert.Equal(0u, U32(page, 0x21c));
        Assert.Equal(0x1000u, U32(page, 0x228));
        Assert.Equal(0, _memory.Read<byte>(0x1000)); // empty, but still NUL-terminated
    }

    [Fact]
    public void A_bzImage_setup_header_is_copied_and_our_fields_override_it()
    {
        var image = new BzImageBuilder
        {
            Payload = Pattern(4096, 3),
            Code32Start = 0x100000,
            LoadFlags = 0x01,
            Version = 0x020f,
            KernelAlignment = 0x1000000,
            HeaderJump = 0x66,
        };
        LoadedKernel kernel = KernelLoader.Load(_memory, _dir.Write("bzImage", image.Build()));

        BootParameters.Write(_memory, 16 * MiB, "quiet", null, kernel);

        byte[] page = _memory.ReadGuest(0, 4096);
        Assert.Equal(4, page[0x1f1]);
        Assert.Equal("HdrS"u8.ToArray(), page[0x202..0x206]);
        Assert.Equal(0x0207, U16(page, 0x206)); // we speak 2.07, whatever the kernel offers
        Assert.Equal(0x41, page[0x211]); // LOADED_HIGH kept, KEEP_SEGMENTS added
        Assert.Equal(0x100000u, U32(page, 0x214));
        Assert.Equal(0x1000000u, U32(page, 0x230));
        // The builder fills setup code with 0xEE: no initrd means these are ours, not the file's.
        Assert.Equal(0, page[0x210]);
        Assert.Equal(0u, U32(page, 0x218));
        Assert.Equal(0u, U32(page, 0x21c));
        Assert.Equal(BzImageBuilder.SetupFill, page[0x267]); // last byte of the header as the kernel sized it
        Assert.Equal(0, page[0x268]); // past the header's end: not copied
        Assert.Equal(0, page[0x1f0]); // before it: not copied either
    }

    [Fact]
    public void A_2047_byte_command_line_fits_with_its_NUL()
    {
        string line = new('x', 2047);

        BootParameters.Write(_memory, 16 * MiB, line, null, ElfKernel);

        Assert.Equal(Encoding.ASCII.GetBytes(line), _memory.ReadGuest(0x1000, 2047));
        Assert.Equal(0, _memory.Read<byte>(0x1000 + 2047));
    }

    [Theory]
    [InlineData(2048, 'x')]
    [InlineData(1024, 'é')] // 1024 characters but 2048 UTF-8 bytes: the limit is in bytes
    [InlineData(5000, 'x')]
    public void A_command_line_of_2048_bytes_or_more_is_too_long(int count, char c)
    {
        string line = new(c, count);

        BootImageException e = Assert.Throws<BootImageException>(() => BootParameters.Write(_memory, 16 * MiB, line, null, ElfKernel));

        Assert.Equal(BootImageError.CommandLineTooLong, e.Error);
        Assert.StartsWith("/boot/vmlinux: ", e.Message, StringComparison.Ordinal);
        Assert.Equal(0xCC, _memory.Read<byte>(0x1000)); // nothing written
        Assert.Equal(0xCC, _memory.Read<byte>(0x1e8));
    }

    [Fact]
    public void A_command_line_that_would_run_into_the_kernel_is_refused()
    {
        var low = new LoadedKernel(KernelFormat.Elf32, 0x1100, 0x1100, 0x5000) { Path = "odd" };

        BootImageException e = Assert.Throws<BootImageException>(() => BootParameters.Write(_memory, 16 * MiB, new string('x', 0x100), null, low));

        Assert.Equal(BootImageError.CommandLineTooLong, e.Error);
        Assert.Contains("0x1100", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_initrd_placement_over_the_kernel_is_refused()
        => Assert.Throws<ArgumentException>(
            () => BootParameters.Write(_memory, 16 * MiB, "", new InitrdPlacement(0x3FF000, 0x2000), ElfKernel));

    [Fact]
    public void Read_gives_back_what_Write_put_there()
    {
        string line = "console=hvc0 " + new string('é', 1000);
        BootParameters.Write(_memory, 16 * MiB, line, new InitrdPlacement(0xFFE000, 0x2000), ElfKernel);

        ZeroPage zero = BootParameters.Read(_memory);

        Assert.Equal(1, zero.E820EntryCount);
        Assert.Equal([new E820Entry(0, 16 * MiB, 1)], zero.E820Map);
        Assert.Equal(0x207, zero.Version);
        Assert.Equal(0xFF, zero.TypeOfLoader);
        Assert.Equal(0x40, zero.LoadFlags);
        Assert.Equal(0xFFE000u, zero.RamdiskImage);
        Assert.Equal(0x2000u, zero.RamdiskSize);
        Assert.Equal(0x1000u, zero.CommandLinePointer);
        Assert.Equal(1u, zero.HardwareSubarch);
        Assert.Equal(line, zero.CommandLine);
    }

    [Fact]
    public void Read_bounds_what_it_takes_from_the_page_as_Linux_does()
    {
        _memory.Write<byte>(0x1e8, 200);
        _memory.Write(0x228, (uint)0x1000);
        _memory.Fill(0x1000, 3000, (byte)'y'); // no NUL anywhere near

        ZeroPage zero = BootParameters.Read(_memory);

        Assert.Equal(200, zero.E820EntryCount);
        Assert.Equal(128, zero.E820Map.Count);
        Assert.Equal(new string('y', 2047), zero.CommandLine);
    }

    [Fact]
    public void Read_stops_a_command_line_at_the_end_of_guest_memory()
    {
        _memory.Write(0x228, (uint)((16 * MiB) - 5));
        _memory.Write((16 * MiB) - 5, "abcde"u8);

        Assert.Equal("abcde", BootParameters.Read(_memory).CommandLine);
    }

    private static ushort U16(byte[] page, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(offset));

    private static uint U32(byte[] page, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(offset));

    private static ulong U64(byte[] page, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(offset));
}
