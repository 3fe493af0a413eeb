using FsCheck;
using FsCheck.Fluent;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>Random, mostly hostile rings: the queue must never crash, hang or hand out memory it does not have.</summary>
public sealed class RandomRingProperties
{
    private const ulong MemorySize = 0x10000;
    private const ulong TableBase = 0x2000;
    private const int TableEntries = 16;
    private const int Tables = 4;

    public sealed record Descriptor(ulong Address, uint Length, ushort Flags, ushort Next);

    public sealed record RingCase(
        ushort Size,
        VirtqueueFeatures Features,
        Descriptor[] Table,
        Descriptor[] IndirectTables,
        ushort[] AvailEntries,
        ushort StartIndex,
        ushort Ahead)
    {
        public override string ToString()
            => $"size {Size}, {Features}, start {StartIndex}, ahead {Ahead}, avail [{string.Join(",", AvailEntries.Take(Size))}], "
               + $"table [{string.Join("; ", Table.Take(Size).Select(d => $"0x{d.Address:x}+0x{d.Length:x} f{d.Flags} n{d.Next}"))}]";
    }

    private static readonly Gen<ulong> AddressGen = Gen.Frequency(
        (5, Gen.Choose(0, (int)MemorySize - 1).Select(a => (ulong)a)),
        (3, Gen.Elements<ulong>(TableBase, TableBase + 0x100, TableBase + 0x200, TableBase + 0x300, TableBase + 0x3F0)),
        (1, Gen.Elements(MemorySize - 16, MemorySize - 1, MemorySize, MemorySize + 1, ulong.MaxValue, ulong.MaxValue - 15, 1UL << 63)));

    private static readonly Gen<uint> LengthGen = Gen.Frequency(
        (5, Gen.Choose(0, 0x200).Select(l => (uint)l)),
        (3, Gen.Elements<uint>(0, 16, 24, 32, 48, 64, 256)),
        (1, Gen.Elements<uint>((uint)MemorySize, (uint)MemorySize + 1, uint.MaxValue, 0x80000000u, 32768 * 16 + 16)));

    private static readonly Gen<Descriptor> DescriptorGen =
        from address in AddressGen
        from length in LengthGen
        from flags in Gen.Frequency((3, Gen.Choose(0, 3)), (1, Gen.Choose(0, 7)))
        from next in Gen.Frequency((3, Gen.Choose(0, 5)), (1, Gen.Choose(0, 17)))
        select new Descriptor(address, length, (ushort)flags, (ushort)next);

    /// <summary>Mostly well-formed pointers at one of the indirect tables, so valid indirect chains are common.</summary>
    private static readonly Gen<Descriptor> IndirectGen =
        from t in Gen.Choose(0, Tables - 1)
        from entries in Gen.Frequency((5, Gen.Choose(1, 4)), (1, Gen.Choose(0, TableEntries)))
        from flags in Gen.Frequency((6, Gen.Constant(4)), (1, Gen.Elements(5, 6, 7)))
        from next in Gen.Choose(0, 17)
        select new Descriptor(TableBase + (ulong)t * TableEntries * 16, (uint)entries * 16, (ushort)flags, (ushort)next);

    private static readonly Gen<RingCase> CaseGen =
        from size in Gen.Elements<ushort>(1, 2, 4, 8, 16)
        from features in Gen.Frequency((1, Gen.Choose(0, 3)), (2, Gen.Elements(1, 3)))
        from table in Gen.ArrayOf(Gen.Frequency((4, DescriptorGen), (1, IndirectGen)), 16)
        from indirect in Gen.ArrayOf(DescriptorGen, Tables * TableEntries)
        from avail in Gen.ArrayOf(Gen.Frequency((6, Gen.Choose(0, size - 1)), (1, Gen.Choose(size, 17))).Select(h => (ushort)h), 16)
        from start in Gen.Elements<ushort>(0, 1, 65530, 65535)
        from ahead in Gen.Frequency((8, Gen.Choose(0, size)), (1, Gen.Choose(size + 1, 65535)))
        select new RingCase(size, (VirtqueueFeatures)features, table, indirect, avail, start, (ushort)ahead);

    [Fact]
    public void RandomRingsNeverEscapeGuestMemoryOrHang()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(MemorySize);
        var chain = new DescriptorChain();
        var seen = new Outcomes();
        Property property = Prop.ForAll(CaseGen.ToArbitrary(), (RingCase c) => Check(memory, chain, c, seen));
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), property);

        // The generator must actually reach both sides of every decision, or the property proves little.
        Assert.True(seen.Accepted > 100, $"only {seen.Accepted} chains accepted");
        Assert.True(seen.AcceptedIndirect > 10, $"only {seen.AcceptedIndirect} indirect chains accepted");
        Assert.True(seen.Violations.Count >= 10, $"only these violations were reached: {string.Join(", ", seen.Violations)}");
    }

    private sealed class Outcomes
    {
        public int Accepted;
        public int AcceptedIndirect;
        public HashSet<VirtqueueViolation> Violations { get; } = [];
    }

    private static void Check(GuestMemory memory, DescriptorChain chain, RingCase c, Outcomes seen)
    {
        memory.Clear(0, MemorySize);
        // The guest's side and the model lay the ring out by the spec's reading (the TestKit's), the queue by its own.
        SplitRingAddresses ring = SplitRingSpec.LegacyLayout(0, c.Size);
        for (int i = 0; i < c.Size; i++)
        {
            Descriptor d = c.Table[i];
            WriteDescriptor(memory, ring.Descriptor((ushort)i), d);
        }
        for (int i = 0; i < c.IndirectTables.Length; i++)
        {
            WriteDescriptor(memory, TableBase + (ulong)i * 16, c.IndirectTables[i]);
        }
        for (int i = 0; i < c.Size; i++)
        {
            memory.Write(ring.AvailSlot((ushort)i), c.AvailEntries[i]);
        }
        memory.Write(ring.AvailIndex, (ushort)(c.StartIndex + c.Ahead));

        var queue = new SplitQueue(memory, SplitQueueLayout.Legacy(0, c.Size), c.Features) { NextAvailableIndex = c.StartIndex };
        bool indirect = (c.Features & VirtqueueFeatures.IndirectDescriptors) != 0;
        ushort modelNext = c.StartIndex;
        int popped = 0;
        while (true)
        {
            // The model's verdict on the next entry: nothing, a violation (null), or the exact chain.
            ushort waiting = (ushort)(c.StartIndex + c.Ahead - modelNext);
            bool modelHasEntry = waiting != 0;
            List<ChainBuffer>? expected = null;
            if (modelHasEntry && waiting <= c.Size)
            {
                ushort head = c.AvailEntries[modelNext & (c.Size - 1)];
                expected = head < c.Size ? RandomRingModel.Walk(memory, MemorySize, ring, indirect, head) : null;
            }

            bool got;
            try
            {
                got = queue.TryPop(chain);
            }
            catch (VirtqueueException e)
            {
                Assert.True(modelHasEntry && expected is null, $"queue rejected a chain the model accepts: {e.Message}");
                Assert.True(queue.IsPoisoned);
                Assert.Equal(e.Violation, Assert.Throws<VirtqueueException>(() => queue.TryPop(chain)).Violation);
                seen.Violations.Add(e.Violation);
                return;
            }
            if (!got)
            {
                Assert.False(modelHasEntry, "queue saw nothing where the model saw an entry");
                return;
            }
            Assert.NotNull(expected);
            Assert.Equal(expected, chain.Buffers.ToArray());
            ulong readable = 0;
            ulong writable = 0;
            foreach (ChainBuffer b in chain.Buffers)
            {
                Assert.True(memory.Contains(b.Address, b.Length), $"buffer {b} is outside guest memory");
                if (b.Writable)
                {
                    writable += b.Length;
                }
                else
                {
                    readable += b.Length;
                }
            }
            Assert.Equal(readable, chain.ReadableBytes);
            Assert.Equal(writable, chain.WritableBytes);
            Assert.Equal(chain.ReadableBytes + chain.WritableBytes, chain.Buffers.ToArray().Aggregate(0UL, (sum, b) => sum + b.Length));
            seen.Accepted++;
            if ((c.Table[chain.HeadIndex].Flags & 4) != 0)
            {
                seen.AcceptedIndirect++;
            }
            modelNext++;
            // At most Size entries can be outstanding, so popping must stop by then.
            Assert.True(++popped <= c.Size, "popped more chains than the queue can hold");
        }
    }

    private static void WriteDescriptor(GuestMemory memory, ulong at, Descriptor d)
    {
        memory.Write(at, d.Address);
        memory.Write(at + 8, d.Length);
        memory.Write(at + 12, d.Flags);
        memory.Write(at + 14, d.Next);
    }
}
