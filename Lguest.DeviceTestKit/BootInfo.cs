using System.Buffers.Binary;
using System.Text;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit;

/// <summary>What the simulated kernel learned from the zero page, after checking it as a kernel must.</summary>
public sealed record BootInfo(ulong RamSize, string CommandLine, ulong CommandLineAddress, ulong InitrdAddress, ulong InitrdSize)
{
    private const int E820EntriesOffset = 0x1e8;
    private const int VersionOffset = 0x206;
    private const int RamdiskImageOffset = 0x218;
    private const int RamdiskSizeOffset = 0x21c;
    private const int CommandLinePointerOffset = 0x228;
    private const int HardwareSubarchOffset = 0x23c;
    private const int E820TableOffset = 0x2d0;
    private const uint E820Ram = 1;
    private const uint SubarchLguest = 1;
    private const ushort MinimumVersion = 0x207;
    private const int CommandLineSize = 2048;
    private const ulong PageSize = 4096;

    /// <summary>
    /// Reads the zero page at guest-physical 0 byte by byte, as lguest_init and the x86 setup code do, and throws
    /// <see cref="SimulatedGuestException"/> naming the first thing a real kernel could not live with. The checks are
    /// stricter than Linux's (which would trust the launcher and crash later) so that a launcher bug shows up as a
    /// clear panic instead of a confusing one.
    /// </summary>
    public static BootInfo Read(GuestMemory memory, ulong entryPoint)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!memory.Contains(0, PageSize))
        {
            throw Fail("the zero page at 0 is not in guest memory");
        }
        Span<byte> page = stackalloc byte[(int)PageSize];
        memory.Read(0, page);

        uint subarch = BinaryPrimitives.ReadUInt32LittleEndian(page[HardwareSubarchOffset..]);
        if (subarch != SubarchLguest)
        {
            throw Fail($"hardware_subarch is {subarch}, not 1: this kernel only boots under lguest");
        }
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(page[VersionOffset..]);
        if (version < MinimumVersion)
        {
            throw Fail($"boot protocol version {version >> 8}.{version & 0xff:d2} is older than 2.07, which has hardware_subarch");
        }

        ulong ram = ReadMemoryMap(page);
        if (!memory.Contains(0, ram))
        {
            throw Fail($"E820 says 0x{ram:x} bytes of RAM, more than guest memory holds");
        }
        if (entryPoint >= ram)
        {
            throw Fail($"entry point 0x{entryPoint:x} is outside RAM (E820 ends at 0x{ram:x})");
        }

        uint commandLineAddress = BinaryPrimitives.ReadUInt32LittleEndian(page[CommandLinePointerOffset..]);
        string commandLine = ReadCommandLine(memory, commandLineAddress, ram, out int commandLineBytes);

        uint initrd = BinaryPrimitives.ReadUInt32LittleEndian(page[RamdiskImageOffset..]);
        uint initrdSize = BinaryPrimitives.ReadUInt32LittleEndian(page[RamdiskSizeOffset..]);
        if (initrdSize != 0)
        {
            CheckInitrd(initrd, initrdSize, ram, commandLineAddress, commandLineBytes);
        }
        return new BootInfo(ram, commandLine, commandLineAddress, initrdSize == 0 ? 0 : initrd, initrdSize);
    }

    private static ulong ReadMemoryMap(ReadOnlySpan<byte> page)
    {
        byte entries = page[E820EntriesOffset];
        if (entries != 1)
        {
            throw Fail($"E820 map has {entries} entries; lguest gives exactly one RAM entry");
        }
        ReadOnlySpan<byte> entry = page.Slice(E820TableOffset, 20);
        ulong address = BinaryPrimitives.ReadUInt64LittleEndian(entry);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
        if (type != E820Ram || address != 0)
        {
            throw Fail($"E820 entry is type {type} at 0x{address:x}; lguest gives one RAM entry (type 1) at 0");
        }
        if (size < 2 * PageSize || size % PageSize != 0)
        {
            throw Fail($"E820 RAM size 0x{size:x} is not a whole number of pages above the zero page");
        }
        return size;
    }

    /// <summary>Linux copies COMMAND_LINE_SIZE bytes; a string that does not end inside them was cut off.</summary>
    private static string ReadCommandLine(GuestMemory memory, uint address, ulong ram, out int length)
    {
        length = 0;
        if (address == 0)
        {
            // Linux boots without a command line when the pointer is 0.
            return string.Empty;
        }
        if (address >= ram)
        {
            throw Fail($"command line at 0x{address:x} is outside RAM (E820 ends at 0x{ram:x})");
        }
        if (address < PageSize)
        {
            throw Fail($"command line at 0x{address:x} overlaps the zero page");
        }
        int readable = (int)Math.Min((ulong)CommandLineSize, ram - address);
        Span<byte> bytes = stackalloc byte[readable];
        memory.Read(address, bytes);
        int nul = bytes.IndexOf((byte)0);
        if (nul < 0)
        {
            throw Fail($"command line at 0x{address:x} is not NUL-terminated within {readable} bytes of RAM (limit {CommandLineSize})");
        }
        length = nul;
        return Encoding.UTF8.GetString(bytes[..nul]);
    }

    private static void CheckInitrd(uint address, uint size, ulong ram, uint commandLine, int commandLineLength)
    {
        ulong end = (ulong)address + size;
        if (address % PageSize != 0)
        {
            throw Fail($"initrd at 0x{address:x} is not page-aligned");
        }
        if (end > ram)
        {
            throw Fail($"initrd 0x{address:x}-0x{end:x} is outside RAM (E820 ends at 0x{ram:x})");
        }
        if (address < PageSize)
        {
            throw Fail($"initrd 0x{address:x}-0x{end:x} overlaps the zero page");
        }
        ulong lineEnd = (ulong)commandLine + (ulong)commandLineLength + 1;
        if (commandLine != 0 && address < lineEnd && commandLine < end)
        {
            throw Fail($"initrd 0x{address:x}-0x{end:x} overlaps the command line at 0x{commandLine:x}");
        }
    }

    private static SimulatedGuestException Fail(string what) => new($"zero page: {what}");
}
