using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Queues;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Devices.Block;

/// <summary>
/// Writes through the block queue's io_uring, driven as a guest drives them: many requests in the ring, one kick.
/// What a user checks: every write lands with an OK status, answers may come back in another order than asked, a
/// flush sees every write before it, a stop never leaves a write behind, and a host without io_uring still works.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class BlockRingSpecs : TestKit
{
    private const int InFlight = 32;

    private readonly ITestOutputHelper _output;

    public BlockRingSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output) => _output = output;

    [Fact]
    public void Thirty_two_writes_in_flight_land_with_the_right_data_and_an_ok_status_each()
    {
        using var rig = new BlockRingRig(InFlight * BlockRingRig.WriteBytes);
        byte[][] data = OfferWrites(rig, InFlight, seed: 1);
        // The requests are all in the ring before the queue starts (it looks at once), so it takes them together.
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("block", rig.Wiring(), rig.Handler));
        rig.Kick();

        List<(int Request, uint Length)> used = rig.WaitForUsed(InFlight);
        StopAndWait(queue);

        Assert.Equal(Enumerable.Range(0, InFlight), used.Select(u => u.Request).Order());
        Assert.All(used, u => Assert.Equal(1u, u.Length));
        for (int i = 0; i < InFlight; i++)
        {
            Assert.Equal(BlockProtocol.StatusOk, rig.Status(i));
            Assert.Equal(data[i], rig.Disk((long)i * BlockRingRig.WriteBytes, BlockRingRig.WriteBytes));
        }
        // They really went through the ring: all but a lone last one have company when they are taken.
        Assert.True(rig.WriteRing!.Started >= InFlight - 1, $"only {rig.WriteRing.Started} writes went through io_uring");
        Assert.True(rig.Interrupt.Raised > 0);
        Assert.Equal(InFlight, rig.Device.Counters.Requests);
    }

    [Fact]
    public void A_request_answered_at_once_is_published_before_writes_taken_earlier()
    {
        using var rig = new BlockRingRig(InFlight * BlockRingRig.WriteBytes);
        OfferWrites(rig, 8, seed: 2);
        int getId = rig.OfferSimple(BlockProtocol.TypeGetId);
        // The requests are all in the ring before the queue starts (it looks at once), so it takes them together.
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("block", rig.Wiring(), rig.Handler));
        rig.Kick();

        List<(int Request, uint Length)> used = rig.WaitForUsed(9);
        StopAndWait(queue);

        // The writes are submitted after the drain that took them, GET_ID is answered inside it: last asked, first
        // answered (virtio allows any order, §2.7.8).
        Assert.Equal(getId, used[0].Request);
        Assert.Equal(BlockProtocol.IdSize + 1u, used[0].Length);
        Assert.Equal(Enumerable.Range(0, 8), used.Skip(1).Select(u => u.Request).Order());
        Assert.All(Enumerable.Range(0, 9), i => Assert.Equal(BlockProtocol.StatusOk, rig.Status(i)));
    }

    [Fact]
    public void A_flush_after_writes_in_flight_finds_every_one_of_them_in_the_file()
    {
        byte[][]? data = null;
        string? path = null;
        var seenAtFlush = new List<bool>();
        using var rig = new BlockRingRig(16 * BlockRingRig.WriteBytes, flush: _ =>
        {
            byte[] disk = File.ReadAllBytes(path!);
            for (int i = 0; i < data!.Length; i++)
            {
                seenAtFlush.Add(disk.AsSpan(i * BlockRingRig.WriteBytes, BlockRingRig.WriteBytes).SequenceEqual(data[i]));
            }
        });
        path = rig.File.Path;
        data = OfferWrites(rig, 16, seed: 3);
        int flush = rig.OfferSimple(BlockProtocol.TypeFlush);
        // The requests are all in the ring before the queue starts (it looks at once), so it takes them together.
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("block", rig.Wiring(), rig.Handler));
        rig.Kick();

        rig.WaitForUsed(17);
        StopAndWait(queue);

        Assert.Equal(Enumerable.Repeat(true, 16), seenAtFlush);
        Assert.Equal(BlockProtocol.StatusOk, rig.Status(flush));
        Assert.True(rig.WriteRing!.Started >= 15);
    }

    [Fact]
    public void Stopping_with_writes_in_flight_waits_for_them_and_publishes_every_one()
    {
        for (int round = 0; round < 5; round++)
        {
            using var rig = new BlockRingRig(InFlight * BlockRingRig.WriteBytes);
            byte[][] data = OfferWrites(rig, InFlight, seed: 10 + round);
            // The requests are all in the ring before the queue starts (it looks at once), so it takes them together.
            IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("block", rig.Wiring(), rig.Handler));
            rig.Kick();
            // Stop as soon as the queue has started some writes: usually they are still in the kernel.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            AwaitCondition(() => rig.WriteRing!.Started > 0, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1));
            TimeSpan started = clock.Elapsed;
            StopAndWait(queue);
            _output.WriteLine($"started after {started.TotalMilliseconds:F0} ms, stopped after {clock.Elapsed.TotalMilliseconds:F0} ms");

            // After the stop nothing is in flight: what was taken is published (used ring and status), and is in the file.
            Assert.Equal(0, ((ICompletingQueueHandler)rig.Handler).InFlight);
            List<(int Request, uint Length)> used = rig.CollectUsed();
            _output.WriteLine($"round {round}: {rig.WriteRing!.Started} through io_uring, {used.Count} answered by the stop");
            foreach ((int request, _) in used)
            {
                Assert.Equal(BlockProtocol.StatusOk, rig.Status(request));
                Assert.Equal(data[request], rig.Disk((long)request * BlockRingRig.WriteBytes, BlockRingRig.WriteBytes));
            }
            Assert.True(used.Count >= rig.WriteRing.Started);
        }
    }

    [Fact]
    public void Without_io_uring_writes_are_answered_synchronously_and_land_just_the_same()
    {
        using var rig = new BlockRingRig(InFlight * BlockRingRig.WriteBytes, withRing: false);
        byte[][] data = OfferWrites(rig, InFlight, seed: 4);
        // The requests are all in the ring before the queue starts (it looks at once), so it takes them together.
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("block", rig.Wiring(), rig.Handler));
        rig.Kick();

        List<(int Request, uint Length)> used = rig.WaitForUsed(InFlight);
        StopAndWait(queue);

        Assert.Null(rig.WriteRing);
        Assert.Null(((ICompletingQueueHandler)rig.Handler).Completions);
        // Synchronous: answered in the order taken.
        Assert.Equal(Enumerable.Range(0, InFlight), used.Select(u => u.Request));
        for (int i = 0; i < InFlight; i++)
        {
            Assert.Equal(BlockProtocol.StatusOk, rig.Status(i));
            Assert.Equal(data[i], rig.Disk((long)i * BlockRingRig.WriteBytes, BlockRingRig.WriteBytes));
        }
    }

    [Fact]
    public void Writes_through_io_uring_allocate_nothing_on_the_queue_thread()
    {
        using var rig = new BlockRingRig(InFlight * BlockRingRig.WriteBytes);
        var probe = new AllocationProbe(rig.Handler);
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("block", rig.Wiring(), probe));
        byte[] data = TempFile.Pattern(BlockRingRig.WriteBytes, 5);

        void Batches(int count)
        {
            for (int batch = 0; batch < count; batch++)
            {
                for (int i = 0; i < 8; i++)
                {
                    rig.OfferWrite((ulong)i * BlockRingRig.SectorsPerWrite, data);
                }
                rig.Kick();
                rig.WaitForUsed(8);
            }
        }

        Batches(100); // warm-up: JIT, tiering, the mailbox's queue segments
        // Bytes the queue thread allocated across 50 batches of 8 writes (drain, submit, the completion eventfd, the
        // reap): one clean round proves it.
        long fewest = long.MaxValue;
        for (int round = 0; round < 5 && fewest != 0; round++)
        {
            long first = probe.LastAllocated;
            Batches(50);
            fewest = Math.Min(fewest, probe.LastAllocated - first);
        }
        _output.WriteLine($"bytes allocated on the queue thread over 400 writes: {fewest}; {rig.WriteRing!.Started} through io_uring");
        StopAndWait(queue);
        Assert.Equal(0, fewest);
        Assert.True(rig.WriteRing.Started > 400);
    }

    private static byte[][] OfferWrites(BlockRingRig rig, int count, int seed)
    {
        var data = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            data[i] = TempFile.Pattern(BlockRingRig.WriteBytes, seed * 1000 + i);
            rig.OfferWrite((ulong)i * BlockRingRig.SectorsPerWrite, data[i]);
        }
        return data;
    }

    private void StopAndWait(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, TimeSpan.FromSeconds(30));
    }

    /// <summary>The block handler, recording what its thread had allocated each time the queue reaps or asks for work.</summary>
    private sealed class AllocationProbe(IQueueHandler inner) : IQueueHandler, ICompletingQueueHandler
    {
        private readonly ICompletingQueueHandler _completing = (ICompletingQueueHandler)inner;
        private long _lastAllocated;

        public long LastAllocated => Interlocked.Read(ref _lastAllocated);

        public EventFd? Completions => _completing.Completions;

        public int InFlight => _completing.InFlight;

        public bool HasCompleted => _completing.HasCompleted;

        public SourceState CheckSource()
        {
            Record();
            return SourceState.Ready;
        }

        public HandlerOutcome Handle(ref Lguest.Native.Virtio.ChainReader readable, ref Lguest.Native.Virtio.ChainWriter writable)
            => inner.Handle(ref readable, ref writable);

        public void Attach(Lguest.Native.Virtio.SplitQueue queue) => _completing.Attach(queue);

        public void Submit() => _completing.Submit();

        public int Complete()
        {
            int done = _completing.Complete();
            Record();
            return done;
        }

        public void CompleteAll() => _completing.CompleteAll();

        public void Dispose() => inner.Dispose();

        private void Record() => Interlocked.Exchange(ref _lastAllocated, GC.GetAllocatedBytesForCurrentThread());
    }
}
