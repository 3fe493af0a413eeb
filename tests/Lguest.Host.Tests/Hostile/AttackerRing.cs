using System.Buffers.Binary;
using Lguest.Native.Interop;

namespace Lguest.Host.Tests.Hostile;

/// <summary>
/// One split virtqueue as the virtio 1.x spec lays it out, driven by hand in a memfd the attacker shares: descriptors
/// at guest 0, the available ring at 0x1000, the used ring at 0x2000, buffers from 0x10000. It can submit a proper
/// block read or break the ring rules on purpose.
/// </summary>
internal sealed class AttackerRing : IDisposable
{
    public const ulong MemorySize = 1 << 20;
    public const ulong UserBase = 0x4000_0000;
    public const ushort Size = 8;
    private const ulong Available = 0x1000, Used = 0x2000, Buffers = 0x10000;
    private const ushort Next = 1, Write = 2;

    private readonly MemoryMapping _memory;
    private ushort _availableIndex;

    public AttackerRing(bool sealSize = true)
    {
        Memory = MemFd.Create("attacker-ram", MemorySize, sealSize);
        _memory = MemoryMapping.MapShared(Memory, 0, MemorySize);
    }

    public FileDescriptor Memory { get; }

    public EventFd Kick { get; } = EventFd.Create();

    public EventFd Call { get; } = EventFd.Create();

    public byte[] MemoryTable => VhostUserAttacker.MemoryTable((0, MemorySize, UserBase, 0));

    /// <summary>Memory table, then ring 0's size, base, addresses, call, kick and enable, each acknowledged.</summary>
    public void Start(VhostUserAttacker attacker)
    {
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetMemTable, MemoryTable, Memory));
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetVringNum, VhostUserAttacker.State(0, Size)));
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetVringBase, VhostUserAttacker.State(0, 0)));
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetVringAddr, VhostUserAttacker.VringAddress(0, UserBase, UserBase + Used, UserBase + Available)));
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetVringCall, VhostUserAttacker.U64(0), Call.Descriptor));
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetVringKick, VhostUserAttacker.U64(0), Kick.Descriptor));
        Assert.Equal(0UL, attacker.Ack(VhostUserAttacker.SetVringEnable, VhostUserAttacker.State(0, 1)));
    }

    /// <summary>A VIRTIO_BLK_T_IN of one sector: header, 512 writable bytes, status byte; then a kick.</summary>
    public void SubmitRead(ulong sector)
    {
        ushort head = 0; // one request at a time: the previous chain is always used before the next is built
        ulong buffer = Buffers + (ulong)(_availableIndex % Size) * 0x1000;
        Span<byte> header = Bytes(buffer, 16);
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], sector);
        Bytes(buffer + 0x200, 1)[0] = 0xff;
        Descriptor(head, buffer, 16, Next, (ushort)((head + 1) % Size));
        Descriptor((ushort)((head + 1) % Size), buffer + 0x400, 512, Next | Write, (ushort)((head + 2) % Size));
        Descriptor((ushort)((head + 2) % Size), buffer + 0x200, 1, Write, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes(Available + 4 + 2UL * (ulong)(_availableIndex % Size), 2), head);
        Thread.MemoryBarrier();
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes(Available + 2, 2), ++_availableIndex);
        Kick.Signal();
    }

    /// <summary>Publishes an available index far beyond the ring's size, which no driver may do, and kicks.</summary>
    public void BreakAvailableIndex()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes(Available + 2, 2), (ushort)(_availableIndex + 5 * Size));
        Kick.Signal();
    }

    /// <summary>Waits until the back end has used <paramref name="count"/> chains; the status byte of the last read.</summary>
    public byte? WaitUsed(ushort count, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (BinaryPrimitives.ReadUInt16LittleEndian(Bytes(Used + 2, 2)) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                return null;
            }
            Thread.Sleep(5);
        }
        ulong buffer = Buffers + (ulong)((count - 1) % Size) * 0x1000;
        return Bytes(buffer + 0x200, 1)[0];
    }

    public void Dispose()
    {
        _memory.Dispose();
        Memory.Dispose();
        Kick.Dispose();
        Call.Dispose();
    }

    private void Descriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = Bytes(16UL * index, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    private Span<byte> Bytes(ulong offset, int length) => _memory.AsSpan(offset, length);
}
