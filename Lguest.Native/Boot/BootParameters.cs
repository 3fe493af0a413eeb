using System.Buffers.Binary;
using System.Text;
using Lguest.Native.Memory;

namespace Lguest.Native.Boot;

/// <summary>
/// The Guest learns everything about its world from the "zero page", Linux's struct boot_params, which lives at
/// guest-physical 0: how much memory it has (a one-entry E820 map), where its command line and initrd are, and,
/// through hardware_subarch, that it is running under lguest.
/// </summary>
public static class BootParameters
{
    /// <summary>
    /// Fills the zero page and writes the command line on the page after it.
    ///
    /// The original launcher wrote its fields onto a page that was merely zero. For a bzImage we also copy the
    /// kernel's own setup header in first, as the boot protocol asks of a loader: the decompressor reads fields such
    /// as kernel_alignment from it, and loadflags keeps the kernel's LOADED_HIGH bit when we add KEEP_SEGMENTS. The
    /// fields we set afterwards win. The page is cleared first, so a reboot never inherits a stale field.
    /// </summary>
    public static void Write(GuestMemory memory, ulong memorySize, string commandLine, InitrdPlacement? initrd, LoadedKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(kernel);
        if (memorySize < BootProtocol.BootAreaEnd || !memory.Contains(0, memorySize))
        {
            throw new ArgumentOutOfRangeException(nameof(memorySize), memorySize, "guest RAM must be inside guest memory and hold at least the zero page and command line");
        }
        if (commandLine.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("the kernel command line cannot contain NUL: it ends the string", nameof(commandLine));
        }

        byte[] commandLineBytes = EncodeCommandLine(commandLine, kernel);
        if (initrd is { } rd)
        {
            CheckInitrd(rd, memorySize, kernel);
        }

        Span<byte> page = stackalloc byte[BootProtocol.ZeroPageSize];
        page.Clear();
        kernel.SetupHeader.Span.CopyTo(page[BootProtocol.SetupHeaderOffset..BootProtocol.SetupHeaderLimit]);

        // Our memory map is a simple, single region of RAM.
        page[BootProtocol.E820EntriesOffset] = 1;
        WriteE820(page, 0, new E820Entry(0, memorySize, BootProtocol.E820Ram));

        BinaryPrimitives.WriteUInt32LittleEndian(page[BootProtocol.CommandLinePointerOffset..], (uint)BootProtocol.CommandLineAddress);
        BinaryPrimitives.WriteUInt16LittleEndian(page[BootProtocol.VersionOffset..], BootProtocol.ProtocolVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(page[BootProtocol.HardwareSubarchOffset..], BootProtocol.HardwareSubarchLguest);
        // The Switcher has already set the segments up: the entry path must not reload them.
        page[BootProtocol.LoadFlagsOffset] |= BootProtocol.KeepSegments;

        // Without an initrd these stay zero, as on the original launcher's blank page, whatever the header said.
        uint ramdiskImage = 0;
        uint ramdiskSize = 0;
        byte loader = 0;
        if (initrd is { } placed)
        {
            ramdiskImage = (uint)placed.Address;
            ramdiskSize = (uint)placed.Size;
            loader = BootProtocol.UnknownLoader; // "unknown" is a perfectly good boot loader type
        }
        BinaryPrimitives.WriteUInt32LittleEndian(page[BootProtocol.RamdiskImageOffset..], ramdiskImage);
        BinaryPrimitives.WriteUInt32LittleEndian(page[BootProtocol.RamdiskSizeOffset..], ramdiskSize);
        page[BootProtocol.TypeOfLoaderOffset] = loader;

        memory.Write(BootProtocol.ZeroPageAddress, page);
        memory.Write(BootProtocol.CommandLineAddress, commandLineBytes);
    }

    /// <summary>
    /// Decodes the zero page the way the Guest kernel reads it at boot: no validation, only the bounds Linux applies
    /// (at most 128 E820 entries, at most 2047 command-line bytes, nothing read outside guest memory).
    /// </summary>
    public static ZeroPage Read(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Span<byte> page = stackalloc byte[BootProtocol.ZeroPageSize];
        memory.Read(BootProtocol.ZeroPageAddress, page);

        byte count = page[BootProtocol.E820EntriesOffset];
        var map = new E820Entry[Math.Min((int)count, BootProtocol.E820MaxEntries)];
        for (int i = 0; i < map.Length; i++)
        {
            ReadOnlySpan<byte> e = page.Slice(BootProtocol.E820TableOffset + (i * BootProtocol.E820EntrySize), BootProtocol.E820EntrySize);
            map[i] = new E820Entry(
                BinaryPrimitives.ReadUInt64LittleEndian(e),
                BinaryPrimitives.ReadUInt64LittleEndian(e[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[16..]));
        }

        uint commandLinePointer = BinaryPrimitives.ReadUInt32LittleEndian(page[BootProtocol.CommandLinePointerOffset..]);
        return new ZeroPage(
            count,
            map,
            BinaryPrimitives.ReadUInt16LittleEndian(page[BootProtocol.VersionOffset..]),
            page[BootProtocol.TypeOfLoaderOffset],
            page[BootProtocol.LoadFlagsOffset],
            BinaryPrimitives.ReadUInt32LittleEndian(page[BootProtocol.Code32StartOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(page[BootProtocol.RamdiskImageOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(page[BootProtocol.RamdiskSizeOffset..]),
            commandLinePointer,
            BinaryPrimitives.ReadUInt32LittleEndian(page[BootProtocol.HardwareSubarchOffset..]),
            ReadCommandLine(memory, commandLinePointer));
    }

    private static byte[] EncodeCommandLine(string commandLine, LoadedKernel kernel)
    {
        // The limit is in bytes, not characters: that is what the kernel copies.
        int length = Encoding.UTF8.GetByteCount(commandLine);
        if (length >= BootProtocol.CommandLineSize)
        {
            throw new BootImageException(
                BootImageError.CommandLineTooLong,
                kernel.Path,
                $"the command line is {length} bytes; the kernel takes at most {BootProtocol.CommandLineSize - 1} plus its NUL");
        }
        ulong end = BootProtocol.CommandLineAddress + (ulong)length + 1;
        if (kernel.LowestAddress < end)
        {
            throw new BootImageException(
                BootImageError.CommandLineTooLong,
                kernel.Path,
                $"the {length}-byte command line at 0x{BootProtocol.CommandLineAddress:x} would run into the kernel loaded at 0x{kernel.LowestAddress:x}");
        }
        byte[] bytes = new byte[length + 1];
        Encoding.UTF8.GetBytes(commandLine, bytes);
        return bytes;
    }

    /// <summary>
    /// <see cref="InitrdLoader"/> never produces a placement that fails this; one that does was made up by the caller,
    /// and would point the Guest at memory it must not trust.
    /// </summary>
    private static void CheckInitrd(InitrdPlacement initrd, ulong memorySize, LoadedKernel kernel)
    {
        bool inRam = initrd.Address >= BootProtocol.BootAreaEnd && initrd.Address <= memorySize && initrd.Size <= memorySize - initrd.Address;
        bool clearOfKernel = initrd.Size == 0 || initrd.Address >= kernel.HighestAddress || initrd.Address + initrd.Size <= kernel.LowestAddress;
        bool fitsFields = initrd.Address <= uint.MaxValue && initrd.Size <= uint.MaxValue;
        if (!inRam || !clearOfKernel || !fitsFields)
        {
            throw new ArgumentException(
                $"initrd placement 0x{initrd.Address:x}+0x{initrd.Size:x} is not clear of the boot area and kernel inside 0x{memorySize:x} bytes of RAM below 4 GiB",
                nameof(initrd));
        }
    }

    private static void WriteE820(Span<byte> page, int index, E820Entry entry)
    {
        Span<byte> e = page.Slice(BootProtocol.E820TableOffset + (index * BootProtocol.E820EntrySize), BootProtocol.E820EntrySize);
        BinaryPrimitives.WriteUInt64LittleEndian(e, entry.Address);
        BinaryPrimitives.WriteUInt64LittleEndian(e[8..], entry.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], entry.Type);
    }

    private static string ReadCommandLine(GuestMemory memory, uint pointer)
    {
        if (pointer == 0)
        {
            return string.Empty;
        }
        // Linux copies COMMAND_LINE_SIZE bytes and forces the last to NUL; we stop where guest memory does.
        int length = BootProtocol.CommandLineSize - 1;
        while (length > 0 && !memory.Contains(pointer, (ulong)length))
        {
            length--;
        }
        Span<byte> bytes = stackalloc byte[length];
        memory.Read(pointer, bytes);
        int nul = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
    }
}
