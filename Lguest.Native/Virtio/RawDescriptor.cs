using System.Runtime.InteropServices;

namespace Lguest.Native.Virtio;

/// <summary>struct virtq_desc, as it lies in guest memory.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal readonly struct RawDescriptor
{
    public readonly ulong Address;
    public readonly uint Length;
    public readonly ushort Flags;
    public readonly ushort Next;

    private RawDescriptor(ulong address, ulong lengthFlagsNext)
    {
        Address = address;
        Length = (uint)lengthFlagsNext;
        Flags = (ushort)(lengthFlagsNext >> 32);
        Next = (ushort)(lengthFlagsNext >> 48);
    }

    /// <summary>
    /// Fetches a descriptor exactly once: two volatile 8-byte loads the JIT may neither repeat nor defer, so the
    /// guest cannot change a field between our check of it and our use of it. <paramref name="descriptor"/> must
    /// be 8-byte aligned.
    /// </summary>
    public static unsafe RawDescriptor Fetch(byte* descriptor)
        => new(Volatile.Read(ref *(ulong*)descriptor), Volatile.Read(ref *(ulong*)(descriptor + 8)));
}
