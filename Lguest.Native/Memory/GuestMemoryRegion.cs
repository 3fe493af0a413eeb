using Lguest.Native.Interop;

namespace Lguest.Native.Memory;

/// <summary>
/// One contiguous piece of guest-physical memory and where it lives in this process.
/// lguest has exactly one, starting at guest-physical 0; a vhost-user front end hands us a table of them,
/// each also known by the front end's own virtual address (<see cref="UserAddress"/>), which it uses for ring addresses.
/// </summary>
public sealed class GuestMemoryRegion
{
    public GuestMemoryRegion(ulong guestPhysicalAddress, MemoryMapping mapping, ulong userAddress = 0)
        : this(guestPhysicalAddress, mapping.Length, mapping.Address, userAddress, mapping)
    {
    }

    private GuestMemoryRegion(ulong guestPhysicalAddress, ulong size, nint hostAddress, ulong userAddress, MemoryMapping? mapping)
    {
        if (size == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "a guest memory region cannot be empty");
        }
        if (guestPhysicalAddress + (size - 1) < guestPhysicalAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"region at 0x{guestPhysicalAddress:x} of 0x{size:x} bytes wraps past 2^64");
        }
        if (userAddress + (size - 1) < userAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(userAddress), $"user address 0x{userAddress:x} + 0x{size:x} bytes wraps past 2^64");
        }
        GuestPhysicalAddress = guestPhysicalAddress;
        Size = size;
        HostAddress = hostAddress;
        UserAddress = userAddress;
        Mapping = mapping;
    }

    /// <summary>
    /// A region over memory someone else owns and keeps alive for the region's lifetime
    /// (tests and benchmarks over pinned managed buffers).
    /// </summary>
    public static GuestMemoryRegion Unowned(ulong guestPhysicalAddress, nint hostAddress, ulong size, ulong userAddress = 0)
        => new(guestPhysicalAddress, size, hostAddress, userAddress, mapping: null);

    public ulong GuestPhysicalAddress { get; }

    public ulong Size { get; }

    /// <summary>The last guest-physical address inside the region (inclusive, so a region may end at 2^64-1).</summary>
    public ulong LastAddress => GuestPhysicalAddress + (Size - 1);

    /// <summary>The front end's virtual address of the region's first byte (vhost-user); 0 when there is none.</summary>
    public ulong UserAddress { get; }

    internal nint HostAddress { get; }

    internal MemoryMapping? Mapping { get; }

    public bool ContainsAddress(ulong address) => address >= GuestPhysicalAddress && address <= LastAddress;
}
