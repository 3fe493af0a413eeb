using Lguest.Native.Memory;

namespace Lguest.Native.Tests.Boot;

internal static class BootTestSupport
{
    public const ulong MiB = 1024 * 1024;

    /// <summary>Distinct, non-zero bytes, so a misplaced or missing copy cannot compare equal by accident.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(((i * 7) + seed) % 251 + 1);
        }
        return bytes;
    }

    public static byte[] ReadGuest(this GuestMemory memory, ulong address, int length)
    {
        byte[] bytes = new byte[length];
        memory.Read(address, bytes);
        return bytes;
    }

    public static void Fill(this GuestMemory memory, ulong address, int length, byte value)
        => memory.GetSpan(address, length).Fill(value);
}
