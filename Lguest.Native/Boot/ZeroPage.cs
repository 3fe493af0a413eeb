namespace Lguest.Native.Boot;

/// <summary>One E820 memory-map entry: [Address, Address + Size) of the given type (1 is usable RAM).</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, uint Type);

/// <summary>
/// The zero-page fields a Guest kernel looks at when it starts on lguest, decoded as the kernel would decode them:
/// the E820 count is capped at the table's 128 slots and the command line at COMMAND_LINE_SIZE - 1 bytes.
/// </summary>
public sealed record ZeroPage(
    byte E820EntryCount,
    IReadOnlyList<E820Entry> E820Map,
    ushort Version,
    byte TypeOfLoader,
    byte LoadFlags,
    uint Code32Start,
    uint RamdiskImage,
    uint RamdiskSize,
    uint CommandLinePointer,
    uint HardwareSubarch,
    string CommandLine);
