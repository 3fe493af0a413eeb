using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Actors.Transports.LguestBus;

/// <summary>
/// Before the virtio console is up, a guest prints by notifying the address of a NUL-terminated string. The seed
/// trusted strnlen up to the end of memory; we do the same bounded scan, a page at a time, and never read past
/// the guest.
/// </summary>
internal static class EarlyConsole
{
    private const int Chunk = 4096;

    public static void Write(GuestMemory memory, ulong address, ulong limit, FileDescriptor output)
    {
        Span<IoVector> vector = stackalloc IoVector[1];
        while (address < limit)
        {
            int length = (int)Math.Min(Chunk, limit - address);
            if (!memory.TryGetHostAddress(address, (ulong)length, out nint host))
            {
                return;
            }
            int end = memory.GetSpan(address, length).IndexOf((byte)0);
            vector[0] = new IoVector(host, (nuint)(end < 0 ? length : end));
            ScatterGatherIo.WriteAll(output, vector);
            if (end >= 0)
            {
                return;
            }
            address += (ulong)length;
        }
    }
}
