using Lguest.Native.Memory;

namespace Lguest.Native.Boot;

/// <summary>
/// Loading the kernel is easy when it's a "vmlinux", but most kernels come wrapped up in the self-decompressing
/// "bzImage" format. With a little work we load those too: the first four bytes tell us which we have.
/// </summary>
public static class KernelLoader
{
    /// <summary>The smallest header either format can have: an Elf32_Ehdr. Anything shorter is not a kernel.</summary>
    private const int SmallestHeader = 52;

    /// <summary>
    /// Loads the kernel at <paramref name="path"/> into <paramref name="memory"/>. Everything the file claims is
    /// checked against the file's length and the guest's memory before a byte is written, so a rejected kernel leaves
    /// guest memory as it was. Throws <see cref="BootImageException"/> for a bad image and IOException when the file
    /// cannot be read.
    /// </summary>
    public static LoadedKernel Load(GuestMemory memory, string path) => Load(memory, path, memory?.Size ?? 0);

    /// <summary>
    /// As above, for a guest whose RAM is only the first <paramref name="ramSize"/> bytes of <paramref name="memory"/>:
    /// the lguest device page and ring pages sit right above RAM, so a kernel must end at or below
    /// <paramref name="ramSize"/> or it would overwrite them.
    /// </summary>
    public static LoadedKernel Load(GuestMemory memory, string path, ulong ramSize)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ramSize, memory.Size);
        using ImageFile file = ImageFile.Open(path);
        if (file.Length < SmallestHeader)
        {
            throw new BootImageException(
                BootImageError.NotAKernel,
                path,
                $"only {file.Length} bytes: too short to hold an ELF or bzImage header");
        }
        Span<byte> magic = stackalloc byte[4];
        file.ReadExactly(0, magic);
        return magic.SequenceEqual(ElfLoader.Magic)
            ? ElfLoader.Load(file, memory, ramSize)
            : BzImageLoader.Load(file, memory, ramSize);
    }
}
