namespace Lguest.Native.Memory;

/// <summary>
/// A guest-physical range that is not (entirely) backed by guest memory. Raised only by direct accessors;
/// the virtqueue checks ranges first and reports a ring error instead.
/// </summary>
public sealed class GuestMemoryFaultException : Exception
{
    public GuestMemoryFaultException(ulong address, ulong length)
        : base($"guest range 0x{address:x}+0x{length:x} is outside guest memory")
    {
        Address = address;
        Length = length;
    }

    public ulong Address { get; }

    public ulong Length { get; }
}
