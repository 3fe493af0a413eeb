using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit;

/// <summary>
/// The simulated kernel's heap for driver data buffers and indirect tables: a bump allocator over a window of guest
/// RAM that the loaders leave free (above the kernel image, below the initrd). Rings are not allocated here: lguest
/// gives each queue its pages. Nothing is freed; drivers allocate their buffers once and reuse them.
/// </summary>
public sealed class GuestPageAllocator
{
    private readonly ulong _end;
    private ulong _next;

    /// <summary>Hands out [<paramref name="start"/>, <paramref name="end"/>), which must be guest memory.</summary>
    public GuestPageAllocator(GuestMemory memory, ulong start, ulong end)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (end <= start || !memory.Contains(start, end - start))
        {
            throw new ArgumentOutOfRangeException(nameof(end), $"the heap window 0x{start:x}-0x{end:x} is not a range of guest memory");
        }
        Memory = memory;
        Start = start;
        _end = end;
        _next = start;
    }

    public GuestMemory Memory { get; }

    public ulong Start { get; }

    public ulong End => _end;

    public ulong Remaining => _end - _next;

    /// <summary>
    /// A zeroed block of <paramref name="bytes"/> at a multiple of <paramref name="alignment"/> (a power of two).
    /// Running out is a kernel out-of-memory: the guest panics.
    /// </summary>
    public ulong Allocate(ulong bytes, ulong alignment = 16)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "alignment must be a power of two");
        }
        ulong address = (_next + alignment - 1) & ~(alignment - 1);
        if (bytes == 0 || address < _next || address > _end || bytes > _end - address)
        {
            throw new SimulatedGuestException(
                $"Out of memory: {bytes} bytes wanted, {Remaining} left in the heap 0x{Start:x}-0x{_end:x}");
        }
        _next = address + bytes;
        Memory.Clear(address, bytes);
        return address;
    }
}
