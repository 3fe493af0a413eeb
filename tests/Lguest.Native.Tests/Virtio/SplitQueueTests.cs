using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

public sealed class SplitQueueTests
{
    // The guest writes descriptor flags by the spec's values (2.7.5), not the device side's constants.
    private const ushort Next = SplitRingSpec.DescriptorNext;
    private const ushort Write = SplitRingSpec.DescriptorWrite;
    private const ushort Indirect = SplitRingSpec.DescriptorIndirect;

    private const ulong Data = RingFixture.DataArea;
    private const ulong Table = RingFixture.TableArea;

    [Fact]
    public void EmptyQueuePopsNothing()
    {
        using var ring = new RingFixture();
        Assert.False(ring.Device.TryPop(ring.Chain));
        Assert.False(ring.Device.IsPoisoned);
    }

    [Fact]
    public void DirectChainWithReadableAndWritableParts()
    {
        using var ring = new RingFixture();
        ChainBuffer[] buffers =
        [
            new(Data, 16, false),
            new(Data + 0x100, 100, false),
            new(Data + 0x200, 512, true),
            new(Data + 0x400, 1, true),
        ];
        ushort head = ring.Driver.AddBuffer(RingFixture.Offer(buffers));

        Assert.True(ring.Device.TryPop(ring.Chain));
        DescriptorChain chain = ring.Chain;
        Assert.Equal(head, chain.HeadIndex);
        Assert.Equal(buffers, chain.Buffers.ToArray());
        Assert.Equal(2, chain.ReadableCount);
        Assert.Equal(2, chain.WritableCount);
        Assert.Equal(buffers[..2], chain.Readable.ToArray());
        Assert.Equal(buffers[2..], chain.Writable.ToArray());
        Assert.Equal(116UL, chain.ReadableBytes);
        Assert.Equal(513UL, chain.WritableBytes);
        Assert.Equal(1, ring.Device.NextAvailableIndex);
        Assert.False(ring.Device.TryPop(ring.Chain));
    }

    [Fact]
    public void IndirectChain()
    {
        using var ring = new RingFixture();
        ChainBuffer[] buffers = [new(Data, 16, false), new(Data + 0x100, 64, true), new(Data + 0x200, 1, true)];
        int freeBefore = ring.Driver.FreeDescriptorCount;
        ushort head = ring.Driver.AddIndirectBuffer(RingFixture.Offer(buffers), Table);
        Assert.Equal(freeBefore - 1, ring.Driver.FreeDescriptorCount);

        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(head, ring.Chain.HeadIndex);
        Assert.Equal(buffers, ring.Chain.Buffers.ToArray());
        Assert.Equal(16UL, ring.Chain.ReadableBytes);
        Assert.Equal(65UL, ring.Chain.WritableBytes);
    }

    [Fact]
    public void DirectDescriptorsFollowedByAnIndirectTable()
    {
        // §2.7.5.3.2: the device must accept normal descriptors chained to one final indirect one. The WRITE flag on
        // the descriptor that points at the table is ignored.
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table, 0, Data + 0x100, 32, Next, 1);
        ring.WriteIndirectEntry(Table, 1, Data + 0x200, 48, Write, 0);
        ring.WriteIndirectEntry(Table, 2, Data + 0x900, 48, Write, 0); // not reached: 1 ends the chain
        ring.Driver.WriteDescriptor(3, Data, 8, Next, 6);
        ring.Driver.WriteDescriptor(6, Table, 48, Indirect | Write, 0);
        ring.Driver.PublishAvailable(3);

        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(
            [new ChainBuffer(Data, 8, false), new ChainBuffer(Data + 0x100, 32, false), new ChainBuffer(Data + 0x200, 48, true)],
            ring.Chain.Buffers.ToArray());
    }

    [Fact]
    public void IndirectChainFollowsNextRatherThanTableOrder()
    {
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table, 0, Data, 4, Next, 2);
        ring.WriteIndirectEntry(Table, 1, Data + 0x100, 4, Write, 0);
        ring.WriteIndirectEntry(Table, 2, Data + 0x200, 4, Next, 1);
        ring.Driver.WriteDescriptor(0, Table, 48, Indirect, 0);
        ring.Driver.PublishAvailable(0);

        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal([Data, Data + 0x200, Data + 0x100], ring.Chain.Buffers.ToArray().Select(b => b.Address));
    }

    [Fact]
    public void ZeroLengthBufferAtEndOfMemoryIsAccepted()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, RingFixture.MemorySize, 0, 0, 0);
        ring.Driver.PublishAvailable(0);
        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(0UL, ring.Chain.ReadableBytes);
    }

    [Fact]
    public void ChainIsASnapshotTheGuestCannotChangeAfterThePop()
    {
        using var ring = new RingFixture();
        ushort head = ring.Driver.AddBuffer([new DriverBuffer(Data, 16, false), new DriverBuffer(Data + 0x100, 32, true)]);
        Assert.True(ring.Device.TryPop(ring.Chain));

        // The guest rewrites the table to point outside memory: what the device already accepted stays as it was.
        for (ushort i = 0; i < ring.Layout.Size; i++)
        {
            ring.Driver.WriteDescriptor(i, ulong.MaxValue - 4, uint.MaxValue, Write, i);
        }
        Assert.Equal(head, ring.Chain.HeadIndex);
        Assert.Equal([new ChainBuffer(Data, 16, false), new ChainBuffer(Data + 0x100, 32, true)], ring.Chain.Buffers.ToArray());
    }

    [Fact]
    public void ChainStorageGrowsForLongChains()
    {
        using var ring = new RingFixture(size: 256);
        var chain = new DescriptorChain(initialCapacity: 1);
        ChainBuffer[] buffers = Enumerable.Range(0, 200).Select(i => new ChainBuffer(Data + (ulong)i * 8, 8, i >= 150)).ToArray();
        ring.Driver.AddBuffer(RingFixture.Offer(buffers));
        Assert.True(ring.Device.TryPop(chain));
        Assert.Equal(buffers, chain.Buffers.ToArray());
        Assert.Equal(150, chain.ReadableCount);
    }

    [Fact]
    public void CopyFromReadableAtAnOffsetSpansBuffers()
    {
        using var ring = new RingFixture();
        ring.Memory.Write(Data, "abcd"u8);
        ring.Memory.Write(Data + 0x100, "efghij"u8);
        ring.Driver.AddBuffer([new DriverBuffer(Data, 4, false), new DriverBuffer(Data + 0x100, 6, false), new DriverBuffer(Data + 0x200, 8, true)]);
        Assert.True(ring.Device.TryPop(ring.Chain));

        Span<byte> out5 = stackalloc byte[5];
        Assert.Equal(5, ring.Chain.CopyFromReadable(ring.Memory, 2, out5));
        Assert.Equal("cdefg"u8.ToArray(), out5.ToArray());

        Span<byte> tooBig = stackalloc byte[32];
        Assert.Equal(3, ring.Chain.CopyFromReadable(ring.Memory, 7, tooBig));
        Assert.Equal("hij"u8.ToArray(), tooBig[..3].ToArray());
        Assert.Equal(0, ring.Chain.CopyFromReadable(ring.Memory, 10, tooBig));
    }

    [Fact]
    public void CopyToWritableAtAnOffsetIsBoundedByTheWritablePart()
    {
        using var ring = new RingFixture();
        ring.Driver.AddBuffer([new DriverBuffer(Data, 4, false), new DriverBuffer(Data + 0x100, 3, true), new DriverBuffer(Data + 0x200, 4, true)]);
        Assert.True(ring.Device.TryPop(ring.Chain));

        Assert.Equal(5, ring.Chain.CopyToWritable(ring.Memory, 2, "ABCDEFGHIJ"u8));
        byte[] first = new byte[3];
        byte[] second = new byte[4];
        ring.Memory.Read(Data + 0x100, first);
        ring.Memory.Read(Data + 0x200, second);
        Assert.Equal("\0\0A"u8.ToArray(), first);
        Assert.Equal("BCDE"u8.ToArray(), second);
        Assert.Equal(0, ring.Chain.CopyToWritable(ring.Memory, 7, "X"u8));
        // Readable memory is never written.
        Assert.Equal(0, ring.Memory.Read<int>(Data));
    }

    [Fact]
    public unsafe void IoVectorsPointAtGuestMemory()
    {
        using var ring = new RingFixture();
        ring.Memory.Write(Data, "header.."u8);
        ring.Memory.Write(Data + 0x100, "payload"u8);
        ring.Driver.AddBuffer([new DriverBuffer(Data, 8, false), new DriverBuffer(Data + 0x100, 7, false), new DriverBuffer(Data + 0x200, 16, true)]);
        Assert.True(ring.Device.TryPop(ring.Chain));

        Span<IoVector> iov = stackalloc IoVector[4];
        Assert.Equal(2, ring.Chain.GetReadableIoVectors(ring.Memory, iov));
        Assert.Equal("header.."u8.ToArray(), new ReadOnlySpan<byte>((void*)iov[0].Base, (int)iov[0].Length).ToArray());
        Assert.Equal("payload"u8.ToArray(), new ReadOnlySpan<byte>((void*)iov[1].Base, (int)iov[1].Length).ToArray());

        // Skipping a header and stopping short of a trailer.
        Assert.Equal(1, ring.Chain.GetReadableIoVectors(ring.Memory, iov, offset: 9, length: 3));
        Assert.Equal("ayl"u8.ToArray(), new ReadOnlySpan<byte>((void*)iov[0].Base, (int)iov[0].Length).ToArray());

        Assert.Equal(1, ring.Chain.GetWritableIoVectors(ring.Memory, iov));
        new Span<byte>((void*)iov[0].Base, (int)iov[0].Length).Fill(0x5A);
        Assert.Equal(0x5A5A5A5A5A5A5A5AUL, ring.Memory.Read<ulong>(Data + 0x208));

        Assert.Equal(-1, ring.Chain.GetReadableIoVectors(ring.Memory, iov[..1]));
    }

    [Fact]
    public void AddUsedPublishesElementAndIndex()
    {
        using var ring = new RingFixture();
        ushort head = ring.Driver.AddBuffer([new DriverBuffer(Data, 8, true)]);
        Assert.True(ring.Device.TryPop(ring.Chain));
        ring.Device.AddUsed(ring.Chain.HeadIndex, 5);
        Assert.Equal(1, ring.Device.UsedIndex);
        Assert.Equal(1, ring.Memory.Read<ushort>(ring.Layout.UsedRing + 2));
        Assert.Equal(head, ring.Memory.Read<uint>(ring.Layout.UsedRing + 4));
        Assert.Equal(5u, ring.Memory.Read<uint>(ring.Layout.UsedRing + 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Device.AddUsed(ring.Layout.Size, 0));
    }
}
