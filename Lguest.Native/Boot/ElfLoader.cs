using System.Buffers.Binary;
using Lguest.Native.Memory;

namespace Lguest.Native.Boot;

/// <summary>
/// A vmlinux is an ELF executable, the format of every modern binary on Linux, so we load it the way any ELF loader
/// would: each PT_LOAD "program header" says which part of the file goes where.
///
/// The headers give two addresses, physical and virtual; we use the physical one, because the Guest will map
/// itself to its virtual address once it is running. The entry point is taken from e_entry exactly as given, as the
/// original launcher did: Linux's linker scripts set it to the physical start (phys_startup_32, phys_startup_64), so
/// no translation is needed for a real kernel, and guessing one for anything else would only hide a broken image.
/// </summary>
internal static class ElfLoader
{
    private const byte Class32 = 1;
    private const byte Class64 = 2;
    private const byte LittleEndian = 1;
    private const ushort ExecutableType = 2; // ET_EXEC
    private const ushort MachineI386 = 3; // EM_386
    private const ushort MachineX8664 = 62; // EM_X86_64
    private const uint LoadableSegment = 1; // PT_LOAD

    /// <summary>The original launcher's bound: the whole program header table fits in 64 KiB.</summary>
    private const int ProgramHeaderTableLimit = 65536;

    public static ReadOnlySpan<byte> Magic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    public static LoadedKernel Load(ImageFile file, GuestMemory memory, ulong ramSize)
    {
        ElfLayout layout = ReadLayout(file);
        Segment[] segments = ReadLoadableSegments(file, memory, ramSize, layout);

        // Only now, with every segment checked, do we touch guest memory.
        ulong lowest = ulong.MaxValue;
        ulong highest = 0;
        foreach (Segment s in segments)
        {
            file.CopyTo(memory, s.PhysicalAddress, s.FileOffset, s.FileSize);
            // The rest up to p_memsz is .bss. Fresh guest memory is already zero, but a reboot reuses it.
            memory.Clear(s.PhysicalAddress + s.FileSize, s.MemorySize - s.FileSize);
            lowest = Math.Min(lowest, s.PhysicalAddress);
            highest = Math.Max(highest, s.PhysicalAddress + s.MemorySize);
        }
        return new LoadedKernel(layout.Format, layout.Entry, lowest, highest) { Path = file.Path };
    }

    private static ElfLayout ReadLayout(ImageFile file)
    {
        Span<byte> header = stackalloc byte[64];
        file.ReadExactly(0, header[..6]);
        byte elfClass = header[4];
        if (elfClass is not (Class32 or Class64))
        {
            throw Malformed(file, $"ELF class {elfClass} is neither ELFCLASS32 (1) nor ELFCLASS64 (2)");
        }
        if (header[5] != LittleEndian)
        {
            throw Malformed(file, $"ELF data encoding {header[5]} is not little-endian (1), as x86 requires");
        }

        bool is64 = elfClass == Class64;
        int headerSize = is64 ? 64 : 52;
        ushort programHeaderSize = (ushort)(is64 ? 56 : 32);
        ushort machine = is64 ? MachineX8664 : MachineI386;
        string name = is64 ? "ELF64" : "ELF32";
        if (file.Length < (ulong)headerSize)
        {
            throw Malformed(file, $"only {file.Length} bytes, shorter than the {headerSize}-byte {name} header");
        }
        header = header[..headerSize];
        file.ReadExactly(0, header);

        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        if (type != ExecutableType)
        {
            throw Malformed(file, $"e_type {type} is not ET_EXEC (2): only a linked vmlinux can be loaded");
        }
        ushort actualMachine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (actualMachine != machine)
        {
            throw Malformed(file, $"e_machine {actualMachine} is not {(is64 ? "EM_X86_64 (62)" : "EM_386 (3)")}, the only machine an {name} kernel can be for");
        }

        ulong entry = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(header[24..]) : BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        ulong tableOffset = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(header[28..]);
        ushort entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[(is64 ? 54 : 42)..]);
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(header[(is64 ? 56 : 44)..]);
        if (entrySize != programHeaderSize)
        {
            throw Malformed(file, $"e_phentsize {entrySize} is not the {programHeaderSize} bytes of an {name} program header");
        }
        int maximum = ProgramHeaderTableLimit / programHeaderSize;
        if (count < 1 || count > maximum)
        {
            throw Malformed(file, $"e_phnum {count} is not between 1 and {maximum}");
        }
        ulong tableSize = (ulong)count * programHeaderSize;
        if (tableOffset > file.Length || tableSize > file.Length - tableOffset)
        {
            throw Malformed(file, $"program headers at 0x{tableOffset:x}+0x{tableSize:x} run past the end of the file ({file.Length} bytes)");
        }
        return new ElfLayout(is64 ? KernelFormat.Elf64 : KernelFormat.Elf32, entry, tableOffset, count, programHeaderSize);
    }

    private static Segment[] ReadLoadableSegments(ImageFile file, GuestMemory memory, ulong ramSize, ElfLayout layout)
    {
        // Bounded by ProgramHeaderTableLimit above, so this cannot be made huge by the file.
        byte[] table = new byte[layout.Count * layout.EntrySize];
        file.ReadExactly(layout.TableOffset, table);

        var segments = new List<Segment>();
        for (int i = 0; i < layout.Count; i++)
        {
            ReadOnlySpan<byte> p = table.AsSpan(i * layout.EntrySize, layout.EntrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(p) != LoadableSegment)
            {
                continue; // notes and the like: nothing for us to load
            }
            Segment s = layout.Format == KernelFormat.Elf64
                ? new Segment(
                    BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(p[24..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(p[32..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(p[40..]))
                : new Segment(
                    BinaryPrimitives.ReadUInt32LittleEndian(p[4..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(p[12..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(p[16..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(p[20..]));
            Check(file, memory, ramSize, i, s);
            if (s.MemorySize != 0)
            {
                segments.Add(s);
            }
        }
        if (segments.Count == 0)
        {
            throw Malformed(file, "no PT_LOAD segment has anything to load");
        }
        return [.. segments];
    }

    private static void Check(ImageFile file, GuestMemory memory, ulong ramSize, int index, Segment s)
    {
        if (s.FileSize > s.MemorySize)
        {
            throw Malformed(file, $"segment {index}: p_filesz 0x{s.FileSize:x} is larger than p_memsz 0x{s.MemorySize:x}");
        }
        if (s.FileOffset > file.Length || s.FileSize > file.Length - s.FileOffset)
        {
            throw Malformed(file, $"segment {index}: file bytes 0x{s.FileOffset:x}+0x{s.FileSize:x} run past the end of the file ({file.Length} bytes)");
        }
        if (s.MemorySize == 0)
        {
            return;
        }
        if (!memory.Contains(s.PhysicalAddress, s.MemorySize))
        {
            throw new BootImageException(
                BootImageError.KernelTooLarge,
                file.Path,
                $"segment {index} at 0x{s.PhysicalAddress:x}+0x{s.MemorySize:x} is not inside guest memory (0x{memory.Size:x} bytes)");
        }
        if (s.PhysicalAddress + s.MemorySize > ramSize)
        {
            // Above RAM is the lguest device page, then the rings: a kernel reaching there would overwrite them.
            throw new BootImageException(
                BootImageError.KernelTooLarge,
                file.Path,
                $"segment {index} at 0x{s.PhysicalAddress:x}+0x{s.MemorySize:x} runs past the end of guest RAM (0x{ramSize:x} bytes) into the device page");
        }
        if (s.PhysicalAddress < BootProtocol.BootAreaEnd)
        {
            throw new BootImageException(
                BootImageError.KernelTooLarge,
                file.Path,
                $"segment {index} at 0x{s.PhysicalAddress:x} overlaps the zero page and command line below 0x{BootProtocol.BootAreaEnd:x}");
        }
    }

    private static BootImageException Malformed(ImageFile file, string problem)
        => new(BootImageError.MalformedElf, file.Path, problem);

    private readonly record struct ElfLayout(KernelFormat Format, ulong Entry, ulong TableOffset, int Count, int EntrySize);

    private readonly record struct Segment(ulong FileOffset, ulong PhysicalAddress, ulong FileSize, ulong MemorySize);
}
