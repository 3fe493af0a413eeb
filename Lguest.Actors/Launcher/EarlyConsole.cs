using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Actors.Launcher;

/// <summary>
/// Before the virtio console is up, a guest prints by notifying the address of a NUL-terminated string. The seed
/// trusted strnlen up to the end of memory; we do the same bounded scan, a page at a time, and never read past
/// the guest.
/// </summary>
internal static class EarlyConsole
{
    public static void Write(GuestMemory memory, ulong address, ulong limit, FileDescriptor output)
    {
        const int chunk = 4096;
        while (address < limit)
        {
            int length = (int)Math.Min((ulong)chunk, limit - address);
            if (!memory.TryGetHostAddress(address, (ulong)length, out _))
            {
                return;
            }
            ReadOnlySpan<byte> text = memory.GetSpan(address, length);
            int end = text.IndexOf((byte)0);
            ScatterGatherIo.WriteAll(output, end < 0 ? text : text[..end]);
            if (end >= 0)
            {
                return;
            }
            address += (ulong)length;
        }
    }
}
