using System.Runtime.CompilerServices;
using Lguest.Native.Interop;

namespace Lguest.Native.Memory;

/// <summary>
/// The guest's "physical" memory as this process sees it: a sorted set of non-overlapping regions.
///
/// Every address the guest gives us is hostile until proven otherwise, so every accessor checks the whole range,
/// with arithmetic that cannot overflow, before touching a byte. A range may cross from one region into the next
/// only when the two are adjacent in guest-physical space; copies then split at the boundary.
///
/// Lifetime: the regions are unmapped on <see cref="Dispose"/>. Whoever swaps or drops guest memory (a guest reboot,
/// a new vhost-user memory table) must first stop every queue that reads it; the queues do not take references
/// on the hot path.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly GuestMemoryRegion[] _regions;
    private int _disposed;

    public GuestMemory(IEnumerable<GuestMemoryRegion> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        _regions = regions.OrderBy(r => r.GuestPhysicalAddress).ToArray();
        if (_regions.Length == 0)
        {
            throw new ArgumentException("guest memory needs at least one region", nameof(regions));
        }
        for (int i = 1; i < _regions.Length; i++)
        {
            if (_regions[i].GuestPhysicalAddress <= _regions[i - 1].LastAddress)
            {
                throw new ArgumentException(
                    $"guest memory regions overlap: 0x{_regions[i - 1].GuestPhysicalAddress:x}-0x{_regions[i - 1].LastAddress:x} and 0x{_regions[i].GuestPhysicalAddress:x}-0x{_regions[i].LastAddress:x}",
                    nameof(regions));
            }
        }
    }

    /// <summary>
    /// lguest's layout: one zeroed region at guest-physical 0 of <paramref name="size"/> bytes, with a PROT_NONE
    /// guard page on either side.
    /// </summary>
    public static GuestMemory CreateFlat(ulong size)
        => new([new GuestMemoryRegion(0, MemoryMapping.AllocateGuarded(size))]);

    public IReadOnlyList<GuestMemoryRegion> Regions => _regions;

    /// <summary>Total bytes of guest memory across regions.</summary>
    public ulong Size
    {
        get
        {
            ulong total = 0;
            foreach (GuestMemoryRegion r in _regions)
            {
                total += r.Size;
            }
            return total;
        }
    }

    /// <summary>
    /// True when every byte of [address, address + length) is guest memory. A zero-length range is valid at any
    /// address inside a region or one past its end, so an empty buffer at the very end of memory is accepted.
    /// </summary>
    public bool Contains(ulong address, ulong length)
    {
        if (length == 0)
        {
            return FindRegion(address) is not null || FindRegion(address - 1) is { } r && r.LastAddress == address - 1 && address != 0;
        }
        ulong last = address + (length - 1);
        if (last < address)
        {
            return false; // wraps past 2^64
        }
        GuestMemoryRegion? region = FindRegion(address);
        while (region is not null)
        {
            if (last <= region.LastAddress)
            {
                return true;
            }
            if (region.LastAddress == ulong.MaxValue)
            {
                return false;
            }
            region = FindRegion(region.LastAddress + 1);
        }
        return false;
    }

    /// <summary>
    /// Translates a range that lies inside a single region to a host pointer. False when any byte is outside guest
    /// memory or the range crosses a region boundary (callers that can split use <see cref="Translate"/>).
    /// </summary>
    public bool TryGetHostAddress(ulong address, ulong length, out nint host)
    {
        host = 0;
        GuestMemoryRegion? region = FindRegion(address);
        if (region is null)
        {
            // An empty range just past a region's end is valid, as Contains says; it has a host address too.
            if (length == 0 && address != 0 && FindRegion(address - 1) is { } before && before.LastAddress == address - 1)
            {
                host = before.HostAddress + (nint)before.Size;
                return true;
            }
            return false;
        }
        ulong offset = address - region.GuestPhysicalAddress;
        if (length > region.Size - offset)
        {
            return false;
        }
        host = region.HostAddress + (nint)offset;
        return true;
    }

    /// <summary>
    /// Splits [address, address + length) into host iovecs, one per region it touches, appending to
    /// <paramref name="into"/>. Returns how many were written, or -1 when the range is not all guest memory or needs
    /// more entries than <paramref name="into"/> has room for.
    /// </summary>
    public int Translate(ulong address, ulong length, Span<IoVector> into)
    {
        if (!Contains(address, length))
        {
            return -1;
        }
        int count = 0;
        while (length > 0)
        {
            GuestMemoryRegion region = FindRegion(address)!;
            ulong offset = address - region.GuestPhysicalAddress;
            ulong chunk = Math.Min(length, region.Size - offset);
            if (count == into.Length)
            {
                return -1;
            }
            into[count++] = new IoVector(region.HostAddress + (nint)offset, (nuint)chunk);
            length -= chunk;
            address += chunk;
        }
        return count;
    }

    /// <summary>Copies guest memory out, across adjacent regions if need be.</summary>
    public void Read(ulong address, Span<byte> destination)
    {
        ThrowIfOutside(address, (ulong)destination.Length);
        while (!destination.IsEmpty)
        {
            Span<byte> source = ContiguousSpan(address, destination.Length);
            source.CopyTo(destination);
            destination = destination[source.Length..];
            address += (ulong)source.Length;
        }
    }

    /// <summary>Copies into guest memory, across adjacent regions if need be.</summary>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        ThrowIfOutside(address, (ulong)source.Length);
        while (!source.IsEmpty)
        {
            Span<byte> target = ContiguousSpan(address, source.Length);
            source[..target.Length].CopyTo(target);
            source = source[target.Length..];
            address += (ulong)target.Length;
        }
    }

    /// <summary>Fills a guest range with zeroes.</summary>
    public void Clear(ulong address, ulong length)
    {
        ThrowIfOutside(address, length);
        while (length > 0)
        {
            Span<byte> target = ContiguousSpan(address, (int)Math.Min(length, int.MaxValue));
            target.Clear();
            length -= (ulong)target.Length;
            address += (ulong)target.Length;
        }
    }

    /// <summary>Reads a little-endian value (the host is x86: native order is the virtio order).</summary>
    public T Read<T>(ulong address)
        where T : unmanaged
    {
        T value = default;
        Read(address, new Span<byte>(&value, sizeof(T)));
        return value;
    }

    public void Write<T>(ulong address, T value)
        where T : unmanaged
        => Write(address, new ReadOnlySpan<byte>(&value, sizeof(T)));

    /// <summary>
    /// A span over a range that must lie inside one region, for structures the guest must place contiguously
    /// (the device page, a boot parameter block). Throws when it does not.
    /// </summary>
    public Span<byte> GetSpan(ulong address, int length)
    {
        if (length < 0 || !TryGetHostAddress(address, (ulong)length, out nint host))
        {
            throw new GuestMemoryFaultException(address, (ulong)Math.Max(length, 0));
        }
        return new Span<byte>((void*)host, length);
    }

    /// <summary>
    /// A host pointer to a naturally aligned field shared with the guest (ring indices and flags), for
    /// <see cref="Volatile"/> access. Null when the field is outside memory, crosses a region or is misaligned.
    /// Alignment is checked on both sides: a region whose host mapping is not congruent with its guest address
    /// (a vhost-user region mapped at an odd offset) would otherwise give a torn, non-atomic access.
    /// </summary>
    public T* PointerTo<T>(ulong address)
        where T : unmanaged
    {
        if (address % (ulong)sizeof(T) != 0 || !TryGetHostAddress(address, (ulong)sizeof(T), out nint host)
            || (ulong)host % (ulong)sizeof(T) != 0)
        {
            return null;
        }
        return (T*)host;
    }

    /// <summary>
    /// Translates a front end's virtual address (vhost-user ring addresses) to guest-physical, requiring the whole
    /// range to sit inside one region.
    /// </summary>
    public bool TryTranslateUserAddress(ulong userAddress, ulong length, out ulong guestPhysicalAddress)
    {
        foreach (GuestMemoryRegion region in _regions)
        {
            if (region.UserAddress == 0)
            {
                continue; // no front-end address: nothing translates into it
            }
            if (userAddress < region.UserAddress)
            {
                continue;
            }
            ulong offset = userAddress - region.UserAddress;
            if (offset < region.Size && length <= region.Size - offset)
            {
                guestPhysicalAddress = region.GuestPhysicalAddress + offset;
                return true;
            }
        }
        guestPhysicalAddress = 0;
        return false;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (GuestMemoryRegion region in _regions)
        {
            region.Mapping?.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private GuestMemoryRegion? FindRegion(ulong address)
    {
        GuestMemoryRegion[] regions = _regions;
        for (int i = 0; i < regions.Length; i++)
        {
            GuestMemoryRegion r = regions[i];
            if (address < r.GuestPhysicalAddress)
            {
                return null; // sorted: no later region can hold it
            }
            if (address <= r.LastAddress)
            {
                return r;
            }
        }
        return null;
    }

    private Span<byte> ContiguousSpan(ulong address, int wanted)
    {
        GuestMemoryRegion region = FindRegion(address)!;
        ulong offset = address - region.GuestPhysicalAddress;
        int length = (int)Math.Min((ulong)wanted, region.Size - offset);
        return new Span<byte>((void*)(region.HostAddress + (nint)offset), length);
    }

    private void ThrowIfOutside(ulong address, ulong length)
    {
        if (!Contains(address, length))
        {
            throw new GuestMemoryFaultException(address, length);
        }
    }
}
