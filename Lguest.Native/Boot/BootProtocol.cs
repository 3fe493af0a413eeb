namespace Lguest.Native.Boot;

/// <summary>
/// The numbers of the x86 boot protocol (Documentation/x86/boot.rst, struct boot_params) that lguest relies on.
/// Offsets are from the start of the zero page, which is also the start of a bzImage file: the setup header sits at
/// the same place in both, which is what lets a loader copy it across unchanged.
/// </summary>
internal static class BootProtocol
{
    public const ulong ZeroPageAddress = 0;
    public const int ZeroPageSize = 0x1000;

    public const int E820EntriesOffset = 0x1e8;
    public const int SetupHeaderOffset = 0x1f1;
    public const int SetupSectorsOffset = 0x1f1;

    /// <summary>The second byte of the two-byte jump at 0x200: the setup header ends at 0x202 plus this value.</summary>
    public const int HeaderJumpLengthOffset = 0x201;

    public const int HeaderMagicOffset = 0x202;
    public const int VersionOffset = 0x206;
    public const int TypeOfLoaderOffset = 0x210;
    public const int LoadFlagsOffset = 0x211;
    public const int Code32StartOffset = 0x214;
    public const int RamdiskImageOffset = 0x218;
    public const int RamdiskSizeOffset = 0x21c;
    public const int CommandLinePointerOffset = 0x228;
    public const int HardwareSubarchOffset = 0x23c;

    /// <summary>edd_mbr_sig_buffer starts here: however long a kernel says its header is, it cannot pass this.</summary>
    public const int SetupHeaderLimit = 0x290;

    public const int E820TableOffset = 0x2d0;
    public const int E820EntrySize = 20;
    public const int E820MaxEntries = 128;
    public const uint E820Ram = 1;

    /// <summary>"HdrS" read as a little-endian u32.</summary>
    public const uint HeaderMagic = 0x53726448;

    /// <summary>2.07 is the first version with hardware_subarch, which is how the guest learns it is lguest.</summary>
    public const ushort ProtocolVersion = 0x207;

    public const byte KeepSegments = 0x40;
    public const uint HardwareSubarchLguest = 1;
    public const byte UnknownLoader = 0xFF;

    /// <summary>The command line goes on the page right after the zero page.</summary>
    public const ulong CommandLineAddress = ZeroPageAddress + ZeroPageSize;

    /// <summary>x86 COMMAND_LINE_SIZE, including the terminating NUL.</summary>
    public const int CommandLineSize = 2048;

    /// <summary>The zero page and the longest command line: no kernel or initrd byte may land below this.</summary>
    public const ulong BootAreaEnd = CommandLineAddress + CommandLineSize;

    public const int SectorSize = 512;

    /// <summary>Very old kernels left setup_sects 0 and meant 4.</summary>
    public const int LegacySetupSectors = 4;

    /// <summary>A bzImage's protected-mode code goes at 1 MiB.</summary>
    public const ulong BzImageLoadAddress = 0x100000;

    /// <summary>Enough of a bzImage to hold everything through code32_start.</summary>
    public const int MinimumBzImageHeader = Code32StartOffset + sizeof(uint);

    /// <summary>The guest's page size: x86 pages, whatever the host uses.</summary>
    public const ulong GuestPageSize = 4096;
}
