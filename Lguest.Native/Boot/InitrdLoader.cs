using Lguest.Native.Memory;

namespace Lguest.Native.Boot;

/// <summary>
/// An "initial ram disk" is a disk image loaded into memory along with the kernel, which the kernel can boot from
/// without needing any drivers. We put it at the very top of the Guest's RAM, well out of the kernel's way, on a
/// page boundary.
/// </summary>
public static class InitrdLoader
{
    /// <summary>
    /// Copies the initrd at <paramref name="path"/> to the top of guest RAM (<paramref name="memoryTop"/>), checking
    /// first that it fits above both the boot area (zero page and command line) and <paramref name="kernel"/>.
    ///
    /// The size we report is the page-rounded one, as the original launcher did: it mapped whole pages, and the
    /// kernel gives the initrd's memory back a page at a time anyway. The bytes between the end of the file and the
    /// end of the last page are zeroed, and the initramfs unpacker skips zero padding, so the extra is harmless.
    ///
    /// An empty file is accepted, as it always was: it yields size 0 at <paramref name="memoryTop"/>, and a kernel
    /// told ramdisk_size 0 simply boots without an initrd.
    /// </summary>
    public static InitrdPlacement Load(GuestMemory memory, ulong memoryTop, string path, LoadedKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(kernel);
        if (memoryTop % BootProtocol.GuestPageSize != 0 || !memory.Contains(0, memoryTop))
        {
            throw new ArgumentOutOfRangeException(nameof(memoryTop), memoryTop, "the top of RAM must be a page boundary inside guest memory");
        }
        if (memoryTop > (ulong)uint.MaxValue + 1)
        {
            // ramdisk_image and ramdisk_size are 32-bit fields.
            throw new ArgumentOutOfRangeException(nameof(memoryTop), memoryTop, "an initrd at the top of RAM must sit below 4 GiB");
        }

        using ImageFile file = ImageFile.Open(path);
        ulong floor = Math.Max(BootProtocol.BootAreaEnd, kernel.HighestAddress);
        ulong room = memoryTop > floor ? memoryTop - floor : 0;
        // Compare before rounding up, so a file near 2^64 bytes cannot wrap the rounding.
        if (file.Length > room || PageAlign(file.Length) > room)
        {
            string below = kernel.HighestAddress > BootProtocol.BootAreaEnd
                ? $"the end of the kernel at 0x{kernel.HighestAddress:x}"
                : $"the boot area at 0x{BootProtocol.BootAreaEnd:x}";
            throw new BootImageException(
                BootImageError.InitrdTooLarge,
                path,
                $"{file.Length} bytes do not fit between {below} and the top of memory at 0x{memoryTop:x}");
        }

        ulong size = PageAlign(file.Length);
        ulong address = memoryTop - size;
        file.CopyTo(memory, address, 0, file.Length);
        memory.Clear(address + file.Length, size - file.Length);
        return new InitrdPlacement(address, size);
    }

    private static ulong PageAlign(ulong length)
        => (length + (BootProtocol.GuestPageSize - 1)) & ~(BootProtocol.GuestPageSize - 1);
}
