using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>
/// An independent reading of the split-ring rules for flat memory, written differently from the queue (visited
/// sets instead of step bounds, plain arithmetic instead of GuestMemory.Contains), for the property test to compare
/// against. Returns null when the chain breaks a rule.
/// </summary>
internal static class RandomRingModel
{
    private const ushort Next = 1;
    private const ushort Write = 2;
    private const ushort Indirect = 4;

    public static List<ChainBuffer>? Walk(GuestMemory memory, ulong memorySize, SplitRingAddresses layout, bool indirectAllowed, ushort head)
    {
        var chain = new List<ChainBuffer>();
        var visited = new HashSet<int>();
        int index = head;
        while (true)
        {
            if (!visited.Add(index))
            {
                return null;
            }
            (ulong address, uint length, ushort flags, ushort next) = ReadDescriptor(memory, layout.Descriptors, index);
            if ((flags & Indirect) != 0)
            {
                if (!indirectAllowed || (flags & Next) != 0)
                {
                    return null;
                }
                return WalkTable(memory, memorySize, address, length, chain);
            }
            if (!Admit(chain, memorySize, address, length, flags))
            {
                return null;
            }
            if ((flags & Next) == 0)
            {
                return chain;
            }
            if (next >= layout.Size)
            {
                return null;
            }
            index = next;
        }
    }

    private static List<ChainBuffer>? WalkTable(GuestMemory memory, ulong memorySize, ulong table, uint length, List<ChainBuffer> chain)
    {
        if (length == 0 || length % 16 != 0 || length / 16 > 32768 || table > memorySize || length > memorySize - table)
        {
            return null;
        }
        int entries = (int)(length / 16);
        var visited = new HashSet<int>();
        int index = 0;
        while (true)
        {
            if (!visited.Add(index))
            {
                return null;
            }
            (ulong address, uint bufferLength, ushort flags, ushort next) = ReadDescriptor(memory, table, index);
            if ((flags & Indirect) != 0 || !Admit(chain, memorySize, address, bufferLength, flags))
            {
                return null;
            }
            if ((flags & Next) == 0)
            {
                return chain;
            }
            if (next >= entries)
            {
                return null;
            }
            index = next;
        }
    }

    private static bool Admit(List<ChainBuffer> chain, ulong memorySize, ulong address, uint length, ushort flags)
    {
        bool writable = (flags & Write) != 0;
        if (!writable && chain.Exists(b => b.Writable))
        {
            return false;
        }
        if (address > memorySize || length > memorySize - address)
        {
            return false;
        }
        chain.Add(new ChainBuffer(address, length, writable));
        return true;
    }

    private static (ulong Address, uint Length, ushort Flags, ushort Next) ReadDescriptor(GuestMemory memory, ulong table, int index)
    {
        ulong entry = table + (ulong)index * 16;
        return (memory.Read<ulong>(entry), memory.Read<uint>(entry + 8), memory.Read<ushort>(entry + 12), memory.Read<ushort>(entry + 14));
    }
}
