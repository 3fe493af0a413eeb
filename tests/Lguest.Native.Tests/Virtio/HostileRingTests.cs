using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>Each ring here breaks one rule; the device must name it, return, and stay poisoned.</summary>
public sealed class HostileRingTests
{
    // The guest writes descriptor flags by the spec's values (2.7.5), not the device side's constants.
    private const ushort Next = SplitRingSpec.DescriptorNext;
    private const ushort Write = SplitRingSpec.DescriptorWrite;
    private const ushort Indirect = SplitRingSpec.DescriptorIndirect;

    private const ulong Data = RingFixture.DataArea;
    private const ulong Table = RingFixture.TableArea;

    [Fact]
    public void SelfLoopIsBounded()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, Data, 16, Next, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.ChainTooLong);
    }

    [Fact]
    public void TwoCycleIsBounded()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, Data, 16, Next, 1);
        ring.Driver.WriteDescriptor(1, Data + 16, 16, Next, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.ChainTooLong);
    }

    [Fact]
    public void ChainThroughEveryDescriptorAndBackIsLongerThanTheQueue()
    {
        using var ring = new RingFixture(size: 16);
        for (ushort i = 0; i < 16; i++)
        {
            ring.Driver.WriteDescriptor(i, Data + i * 16UL, 16, Next, (ushort)((i + 1) % 16));
        }
        ring.Driver.PublishAvailable(5);
        VirtqueueException e = ring.AssertViolation(VirtqueueViolation.ChainTooLong);
        Assert.Contains("16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoopInsideIndirectTableIsBounded()
    {
        using var ring = new RingFixture();
        for (int i = 0; i < 4; i++)
        {
            ring.WriteIndirectEntry(Table, i, Data, 8, Next, (ushort)((i + 1) % 4));
        }
        ring.Driver.WriteDescriptor(0, Table, 64, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.ChainTooLong);
    }

    [Fact]
    public void NextAtQueueSizeIsOutOfRange()
    {
        using var ring = new RingFixture(size: 8);
        ring.Driver.WriteDescriptor(0, Data, 16, Next, 8);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.NextOutOfRange);
    }

    [Fact]
    public void NextAtIndirectTableLengthIsOutOfRange()
    {
        // The table has 2 entries but the ring has 8: the table's own length is the bound.
        using var ring = new RingFixture(size: 8);
        ring.WriteIndirectEntry(Table, 0, Data, 8, Next, 2);
        ring.WriteIndirectEntry(Table, 1, Data, 8, 0, 0);
        ring.Driver.WriteDescriptor(0, Table, 32, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.NextOutOfRange);
    }

    [Fact]
    public void HeadAtQueueSizeIsOutOfRange()
    {
        using var ring = new RingFixture(size: 8);
        ring.Driver.PublishAvailable(8);
        ring.AssertViolation(VirtqueueViolation.HeadOutOfRange);
        Assert.Equal(0, ring.Device.NextAvailableIndex);
    }

    [Fact]
    public void IndirectTableOfZeroLength()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, Table, 0, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.IndirectTableLengthInvalid);
    }

    [Fact]
    public void IndirectTableLengthNotAMultipleOf16()
    {
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table, 0, Data, 8, 0, 0);
        ring.Driver.WriteDescriptor(0, Table, 24, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.IndirectTableLengthInvalid);
    }

    [Fact]
    public void IndirectTablePartlyOutsideMemory()
    {
        using var ring = new RingFixture();
        ulong lastEntry = RingFixture.MemorySize - 16;
        ring.WriteIndirectEntry(lastEntry, 0, Data, 8, 0, 0);
        ring.Driver.WriteDescriptor(0, lastEntry, 32, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.IndirectTableOutsideMemory);
    }

    [Fact]
    public void IndirectInsideIndirect()
    {
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table + 0x100, 0, Data, 8, 0, 0);
        ring.WriteIndirectEntry(Table, 0, Data, 8, Next, 1);
        ring.WriteIndirectEntry(Table, 1, Table + 0x100, 16, Indirect, 0);
        ring.Driver.WriteDescriptor(0, Table, 32, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.NestedIndirect);
    }

    [Fact]
    public void IndirectWithoutTheFeature()
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.None);
        ring.WriteIndirectEntry(Table, 0, Data, 8, 0, 0);
        ring.Driver.WriteDescriptor(0, Table, 16, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.IndirectWithoutFeature);
    }

    [Fact]
    public void IndirectTogetherWithNext()
    {
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table, 0, Data, 8, 0, 0);
        ring.Driver.WriteDescriptor(0, Table, 16, Indirect | Next, 1);
        ring.Driver.WriteDescriptor(1, Data, 8, 0, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.IndirectWithNext);
    }

    [Fact]
    public void ReadableAfterWritableInTheRing()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, Data, 8, Write | Next, 1);
        ring.Driver.WriteDescriptor(1, Data + 8, 8, 0, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.ReadableAfterWritable);
    }

    [Fact]
    public void ReadableAfterWritableAcrossTheIndirectBoundary()
    {
        // A direct writable descriptor then a table that starts readable: order spans the whole chain.
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table, 0, Data + 8, 8, 0, 0);
        ring.Driver.WriteDescriptor(0, Data, 8, Write | Next, 1);
        ring.Driver.WriteDescriptor(1, Table, 16, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.ReadableAfterWritable);
    }

    [Fact]
    public void AvailIndexMoreThanSizeAhead()
    {
        using var ring = new RingFixture(size: 8);
        ring.Driver.WriteDescriptor(0, Data, 8, 0, 0);
        ring.Driver.SetAvailableIndex(9);
        ring.AssertViolation(VirtqueueViolation.AvailIndexTooFarAhead);
    }

    [Fact]
    public void AvailIndexExactlySizeAheadIsAccepted()
    {
        using var ring = new RingFixture(size: 8);
        ring.Driver.WriteDescriptor(0, Data, 8, 0, 0);
        ring.Driver.SetAvailableIndex(8); // all avail entries are 0, each naming descriptor 0
        for (int i = 0; i < 8; i++)
        {
            Assert.True(ring.Device.TryPop(ring.Chain));
        }
        Assert.False(ring.Device.TryPop(ring.Chain));
    }

    [Fact]
    public void AvailIndexGoingBackwardsLooksFarAhead()
    {
        using var ring = new RingFixture(size: 8);
        ring.Device.NextAvailableIndex = 5;
        ring.Driver.SetAvailableIndex(4); // 4 - 5 = 65535 entries "waiting"
        ring.AssertViolation(VirtqueueViolation.AvailIndexTooFarAhead);
    }

    [Fact]
    public void AddressPlusLengthWrappingPast2To64()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, ulong.MaxValue - 7, 16, 0, 0);
        ring.Driver.PublishAvailable(0);
        VirtqueueException e = ring.AssertViolation(VirtqueueViolation.BufferOutsideMemory);
        Assert.Contains("wraps", e.Message, StringComparison.Ordinal);
        Assert.Contains("0xfffffffffffffff8+0x10", e.Message, StringComparison.Ordinal); // the guest's numbers, in hex
    }

    [Fact]
    public void WrappingBufferInsideIndirectTable()
    {
        using var ring = new RingFixture();
        ring.WriteIndirectEntry(Table, 0, ulong.MaxValue, 2, 0, 0);
        ring.Driver.WriteDescriptor(0, Table, 16, Indirect, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.BufferOutsideMemory);
    }

    [Fact]
    public void BufferEndingExactlyAtEndOfMemoryIsAccepted()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, RingFixture.MemorySize - 100, 100, Write, 0);
        ring.Driver.PublishAvailable(0);
        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(new ChainBuffer(RingFixture.MemorySize - 100, 100, true), Assert.Single(ring.Chain.Buffers.ToArray()));
    }

    [Fact]
    public void BufferEndingOneBytePastEndOfMemoryIsRejected()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, RingFixture.MemorySize - 100, 101, Write, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.BufferOutsideMemory);
    }

    [Fact]
    public void AvailIndexWrapFrom65535To0IsAccepted()
    {
        using var ring = new RingFixture(size: 8);
        ring.Device.NextAvailableIndex = 65535;
        ring.Driver.SetAvailableIndex(65535);
        ushort first = ring.Driver.AddBuffer([new DriverBuffer(Data, 10, false)]);
        ushort second = ring.Driver.AddBuffer([new DriverBuffer(Data + 0x100, 20, true)]);
        Assert.Equal(1, ring.Driver.AvailableIndex);

        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(first, ring.Chain.HeadIndex);
        Assert.Equal(10UL, ring.Chain.ReadableBytes);
        Assert.Equal(0, ring.Device.NextAvailableIndex);

        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(second, ring.Chain.HeadIndex);
        Assert.Equal(20UL, ring.Chain.WritableBytes);
        Assert.Equal(1, ring.Device.NextAvailableIndex);
        Assert.False(ring.Device.TryPop(ring.Chain));
        Assert.False(ring.Device.IsPoisoned);
    }

    [Fact]
    public void ResetClearsPoison()
    {
        using var ring = new RingFixture();
        ring.Driver.WriteDescriptor(0, Data, 16, Next, 0);
        ring.Driver.PublishAvailable(0);
        ring.AssertViolation(VirtqueueViolation.ChainTooLong);

        ring.Device.Reset();
        Assert.False(ring.Device.IsPoisoned);
        Assert.Null(ring.Device.Violation);
        Assert.Equal(0, ring.Device.NextAvailableIndex);
        Assert.Equal(0, ring.Device.UsedIndex);

        // The driver re-initialises its ring after a reset; the same queue object then works again.
        var driver = new SplitRingDriver(ring.Memory, ring.Driver.Addresses, RingFixture.NegotiatedBits(VirtqueueFeatures.IndirectDescriptors));
        ushort head = driver.AddBuffer([new DriverBuffer(Data, 16, false)]);
        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.Equal(head, ring.Chain.HeadIndex);
        ring.Device.AddUsed(head, 0);
        Assert.True(driver.TryGetUsed(out ushort used, out _));
        Assert.Equal(head, used);
    }
}
