using System.Runtime.InteropServices;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// An mmapped range of the host's address space, unmapped exactly once when released.
/// <see cref="Address"/> and <see cref="Length"/> describe the usable part; guard pages around it, if any,
/// belong to the same mapping and are unmapped with it.
/// </summary>
public sealed unsafe class MemoryMapping : SafeHandle
{
    private readonly nint _mappingStart;
    private readonly nuint _mappingLength;

    private MemoryMapping(nint mappingStart, nuint mappingLength, nint address, ulong length)
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
        _mappingStart = mappingStart;
        _mappingLength = mappingLength;
        Address = address;
        Length = length;
        SetHandle(mappingStart);
    }

    public static int PageSize { get; } = Linux.getpagesize();

    /// <summary>Host address of the first usable byte.</summary>
    public nint Address { get; }

    /// <summary>Usable bytes from <see cref="Address"/>.</summary>
    public ulong Length { get; }

    public override bool IsInvalid => handle == 0;

    /// <summary>
    /// Zeroed private anonymous memory with one PROT_NONE guard page on each side, as lguest maps guest RAM:
    /// an access that runs off either end faults instead of touching the launcher.
    /// </summary>
    public static MemoryMapping AllocateGuarded(ulong length)
    {
        ulong page = (ulong)PageSize;
        if (length == 0 || length % page != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be a non-zero multiple of the page size ({page})");
        }
        if (length > long.MaxValue - 2 * page)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "larger than the host address space");
        }

        nuint total = (nuint)(length + 2 * page);
        nint start = (nint)Linux.mmap(null, (Tmds.Linux.size_t)(ulong)total, LibC.PROT_NONE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        if (start == -1)
        {
            SystemCall.ThrowIfFailed(-1, $"mmap {length} bytes of guest memory");
        }

        var mapping = new MemoryMapping(start, total, start + (nint)page, length);
        if (Linux.mprotect((void*)mapping.Address, (Tmds.Linux.size_t)(ulong)length, LibC.PROT_READ | LibC.PROT_WRITE) != 0)
        {
            int errno = SystemCall.LastErrno;
            mapping.Dispose();
            throw new SystemCallException($"mprotect {length} bytes of guest memory read-write", errno);
        }
        return mapping;
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of <paramref name="descriptor"/> from <paramref name="offset"/>, shared,
    /// as a vhost-user back end maps the front end's memory regions. The offset need not be page-aligned: the
    /// mapping starts at the page below it and <see cref="Address"/> points at the requested byte.
    /// </summary>
    public static MemoryMapping MapShared(FileDescriptor descriptor, ulong offset, ulong length, bool writable = true)
    {
        ulong page = (ulong)PageSize;
        ulong alignedOffset = offset - offset % page;
        ulong slack = offset - alignedOffset;
        if (length == 0 || length > long.MaxValue - slack)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "invalid mapping length");
        }
        nuint total = (nuint)(length + slack);
        int prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
        nint start;
        using (FileDescriptor.Lease fd = descriptor.Borrow())
        {
            start = (nint)Linux.mmap(null, (Tmds.Linux.size_t)(ulong)total, prot, LibC.MAP_SHARED, fd.Number, (long)alignedOffset);
        }
        if (start == -1)
        {
            SystemCall.ThrowIfFailed(-1, $"mmap {length} bytes at offset {offset} of fd {descriptor.Number}");
        }
        return new MemoryMapping(start, total, start + (nint)slack, length);
    }

    /// <summary>The usable bytes as a span; the caller keeps the mapping alive while using it.</summary>
    public unsafe Span<byte> AsSpan(ulong offset, int length)
    {
        if (offset > Length || (ulong)length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }
        return new Span<byte>((byte*)Address + offset, length);
    }

    protected override bool ReleaseHandle() => Linux.munmap((void*)_mappingStart, (Tmds.Linux.size_t)(ulong)_mappingLength) == 0;
}
