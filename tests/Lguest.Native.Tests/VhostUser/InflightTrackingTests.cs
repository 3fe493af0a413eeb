using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.Tests.Virtio;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>
/// The inflight region's layout as QEMU's vhost-user.rst gives it, and what it buys: a device process that dies with
/// requests taken is replaced by one that finishes exactly those, once each, before anything new.
/// </summary>
public sealed class InflightTrackingTests
{
    private const ulong Data = RingFixture.DataArea;

    [Fact]
    public void The_queue_region_has_the_split_layout_of_the_spec()
    {
        Assert.Equal(16UL * 8 + 64, InflightQueueRegion.QueueRegionSize(8));
        Assert.Equal(16UL * 256 + 64, InflightQueueRegion.QueueRegionSize(256));
        Assert.Equal(64UL, InflightQueueRegion.QueueRegionSize(1));

        (VhostUserInflightRegion region, FileDescriptor fd) = VhostUserInflightRegion.Create(2, 8, deviceQueues: 2);
        using (region)
        using (fd)
        using (MemoryMapping front = MemoryMapping.MapShared(fd, 0, region.Size))
        {
            Assert.Equal(2 * InflightQueueRegion.QueueRegionSize(8), region.Size);
            InflightQueueRegion queue1 = region.TrackerFor(1, 8)!;
            ulong q1 = InflightQueueRegion.QueueRegionSize(8);
            Assert.Equal(0, queue1.Recover(0, new ushort[8]));
            Assert.Equal(1, BitConverter.ToUInt16(front.AsSpan(q1 + 8, 2)));   // version
            Assert.Equal(8, BitConverter.ToUInt16(front.AsSpan(q1 + 10, 2)));  // desc_num

            queue1.Taken(3);
            queue1.Taken(5);
            Assert.Equal(1, front.AsSpan(q1 + 16 + 3 * 16, 1)[0]);             // desc[3].inflight
            Assert.Equal(0UL, BitConverter.ToUInt64(front.AsSpan(q1 + 16 + 3 * 16 + 8, 8)));   // desc[3].counter
            Assert.Equal(1UL, BitConverter.ToUInt64(front.AsSpan(q1 + 16 + 5 * 16 + 8, 8)));   // desc[5].counter

            queue1.Publishing(3);
            Assert.Equal(3, BitConverter.ToUInt16(front.AsSpan(q1 + 12, 2)));  // last_batch_head
            queue1.Published(3, 1);
            Assert.Equal(0, front.AsSpan(q1 + 16 + 3 * 16, 1)[0]);
            Assert.Equal(1, BitConverter.ToUInt16(front.AsSpan(q1 + 14, 2)));  // used_idx
            Assert.True(front.AsSpan(0, (int)q1).IndexOfAnyExcept((byte)0) < 0);   // queue 0 untouched
        }
    }

    [Fact]
    public void A_restarted_device_finishes_what_the_dead_one_took_in_order_and_each_request_once()
    {
        using var ring = new RingFixture(size: 16);
        (VhostUserInflightRegion first, FileDescriptor fd) = VhostUserInflightRegion.Create(1, 16, deviceQueues: 1);
        using FileDescriptor frontEndFd = fd;
        VhostUserInflight description = first.Description;

        var heads = new List<ushort>();
        for (int i = 0; i < 5; i++)
        {
            heads.Add(ring.Driver.AddBuffer([new DriverBuffer(Data + (ulong)i * 0x100, 16, false), new DriverBuffer(Data + (ulong)i * 0x100 + 16, 1, true)]));
        }

        var dead = new SplitQueue(ring.Memory, ring.Layout, ring.Device.Features);
        dead.AttachInflight(first.TrackerFor(0, 16)!);
        var taken = new List<ushort>();
        for (int i = 0; i < 4 && dead.TryPop(ring.Chain); i++)
        {
            taken.Add(ring.Chain.HeadIndex);
        }
        dead.AddUsed(taken[2], 1);      // out of order: the third finished, the others were still in flight
        first.Dispose();                // the process dies; the front end keeps the memfd

        using VhostUserInflightRegion second = VhostUserInflightRegion.Adopt(fd, description, deviceQueues: 1);
        var restarted = new SplitQueue(ring.Memory, ring.Layout, ring.Device.Features);
        restarted.AttachInflight(second.TrackerFor(0, 16)!);
        Assert.Equal(3, restarted.ResubmitPending);
        Assert.Equal(4, restarted.NextAvailableIndex);

        var served = new List<ushort>();
        while (restarted.TryPop(ring.Chain))
        {
            served.Add(ring.Chain.HeadIndex);
            restarted.AddUsed(ring.Chain.HeadIndex, 1);
        }
        Assert.Equal([taken[0], taken[1], taken[3], heads[4]], served);

        var completed = new List<ushort>();
        while (ring.Driver.TryGetUsed(out ushort head, out _))
        {
            completed.Add(head);
        }
        Assert.Equal(heads.Order(), completed.Order());
        Assert.Equal(0, ResubmitAfterAnotherRestart(ring, fd, description));
    }

    [Fact]
    public void Dying_between_publishing_used_idx_and_clearing_the_flag_does_not_serve_the_request_twice()
    {
        using var ring = new RingFixture(size: 8);
        (VhostUserInflightRegion first, FileDescriptor fd) = VhostUserInflightRegion.Create(1, 8, deviceQueues: 1);
        using FileDescriptor frontEndFd = fd;
        VhostUserInflight description = first.Description;
        ushort a = ring.Driver.AddBuffer([new DriverBuffer(Data, 16, false), new DriverBuffer(Data + 16, 1, true)]);
        ushort b = ring.Driver.AddBuffer([new DriverBuffer(Data + 0x100, 16, false), new DriverBuffer(Data + 0x110, 1, true)]);

        var dead = new SplitQueue(ring.Memory, ring.Layout, ring.Device.Features);
        dead.AttachInflight(new DiesBeforeClearing(first.TrackerFor(0, 8)!));
        Assert.True(dead.TryPop(ring.Chain));
        Assert.True(dead.TryPop(ring.Chain));
        dead.AddUsed(a, 1);             // used.idx is 1 in the ring; the record still says a is in flight
        first.Dispose();

        using VhostUserInflightRegion second = VhostUserInflightRegion.Adopt(fd, description, deviceQueues: 1);
        var restarted = new SplitQueue(ring.Memory, ring.Layout, ring.Device.Features);
        restarted.AttachInflight(second.TrackerFor(0, 8)!);
        Assert.Equal(1, restarted.ResubmitPending);
        Assert.True(restarted.TryPop(ring.Chain));
        Assert.Equal(b, ring.Chain.HeadIndex);
        restarted.AddUsed(b, 1);
        Assert.False(restarted.TryPop(ring.Chain));
    }

    [Fact]
    public void A_region_the_front_end_scribbled_on_yields_only_heads_of_the_ring()
    {
        (VhostUserInflightRegion region, FileDescriptor fd) = VhostUserInflightRegion.Create(1, 16, deviceQueues: 1);
        using (region)
        using (fd)
        using (MemoryMapping front = MemoryMapping.MapShared(fd, 0, region.Size))
        {
            InflightQueueRegion tracker = region.TrackerFor(0, 8)!;
            tracker.Recover(0, new ushort[8]);
            front.AsSpan(0, (int)region.Size).Fill(0xFF);               // every flag set, head 0xFFFF, desc_num 0xFFFF
            Assert.Equal(0, region.TrackerFor(0, 8)!.Recover(3, new ushort[8]));    // desc_num does not match: a fresh record
            Assert.Equal(8, BitConverter.ToUInt16(front.AsSpan(10, 2)));

            front.AsSpan(16, (int)region.Size - 16).Fill(0xFF);         // flags and counters garbage, last_batch_head 0xFFFF
            front.AsSpan(12, 4).Fill(0xFF);
            var resubmit = new ushort[8];
            int count = region.TrackerFor(0, 8)!.Recover(3, resubmit);
            Assert.Equal(8, count);
            Assert.All(resubmit, head => Assert.True(head < 8));
            Assert.Equal(8, resubmit.Distinct().Count());
            Assert.Null(region.TrackerFor(0, 32));                      // a ring bigger than the region runs untracked
            Assert.Null(region.TrackerFor(1, 8));
        }
    }

    [Fact]
    public void Tracking_adds_no_allocation_to_taking_and_completing_a_chain()
    {
        using var ring = new RingFixture(size: 8);
        (VhostUserInflightRegion region, FileDescriptor fd) = VhostUserInflightRegion.Create(1, 8, deviceQueues: 1);
        using (region)
        using (fd)
        {
            var queue = new SplitQueue(ring.Memory, ring.Layout, ring.Device.Features);
            queue.AttachInflight(region.TrackerFor(0, 8)!);
            DriverBuffer[] buffers = [new DriverBuffer(Data, 16, false), new DriverBuffer(Data + 16, 1, true)];
            void Round()
            {
                ring.Driver.AddBuffer(buffers);
                queue.TryPop(ring.Chain);
                queue.AddUsed(ring.Chain.HeadIndex, 1);
                ring.Driver.TryGetUsed(out _, out _);
            }
            Round();    // JIT

            // As HotPathAllocationTests: the runtime may allocate once while tiering up; a per-call cost shows every round.
            long fewest = long.MaxValue;
            for (int attempt = 0; attempt < 5 && fewest != 0; attempt++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 1000; i++)
                {
                    Round();
                }
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.Equal(0, fewest);
            Assert.False(region.TrackerFor(0, 8)!.IsInflight(ring.Chain.HeadIndex));
        }
    }

    [Theory]
    [InlineData(0, 8, "asks for 0 queues")]
    [InlineData(3, 8, "asks for 3 queues")]
    [InlineData(1, 0, "queues of 0 entries")]
    [InlineData(1, 40000, "queues of 40000 entries")]
    public void Layouts_the_device_cannot_have_are_refused(ushort queues, ushort size, string expected)
    {
        var refused = Assert.Throws<VhostUserProtocolException>(() => VhostUserInflightRegion.Create(queues, size, deviceQueues: 2));
        Assert.Equal(VhostUserViolation.InflightInvalid, refused.Violation);
        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
    }

    private static int ResubmitAfterAnotherRestart(RingFixture ring, FileDescriptor fd, VhostUserInflight description)
    {
        using VhostUserInflightRegion third = VhostUserInflightRegion.Adopt(fd, description, deviceQueues: 1);
        var queue = new SplitQueue(ring.Memory, ring.Layout, ring.Device.Features);
        queue.AttachInflight(third.TrackerFor(0, ring.Layout.Size)!);
        return queue.ResubmitPending;
    }

    /// <summary>Forwards everything but the last step of a completion, as a process killed right after used.idx moved.</summary>
    private sealed class DiesBeforeClearing(IInflightTracker inner) : IInflightTracker
    {
        public int Recover(ushort ringUsedIndex, Span<ushort> resubmit) => inner.Recover(ringUsedIndex, resubmit);

        public void Taken(ushort head) => inner.Taken(head);

        public void Publishing(ushort head) => inner.Publishing(head);

        public void Published(ushort head, ushort usedIndex)
        {
        }
    }
}
