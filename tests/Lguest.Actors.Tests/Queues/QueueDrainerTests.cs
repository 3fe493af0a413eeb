using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Queues;

public sealed class QueueDrainerTests : IDisposable
{
    private const ulong RingAddress = 0x10000;
    private const ulong DataArea = 0x80000;

    private readonly GuestMemory _memory = GuestMemory.CreateFlat(1 << 20);
    private readonly SplitRingDriver _driver;
    private readonly SplitQueue _queue;
    private readonly DescriptorChain _chain = new();
    private ulong _next = DataArea;

    public QueueDrainerTests()
    {
        _driver = new SplitRingDriver(_memory, SplitRingSpec.LegacyLayout(RingAddress, 16), 0);
        _queue = new SplitQueue(_memory, SplitQueueLayout.Legacy(RingAddress, 16), VirtqueueFeatures.None);
    }

    [Fact]
    public void With_nothing_from_the_source_the_chain_stays_in_the_ring()
    {
        var handler = new ScriptedHandler { State = SourceState.Empty };
        Offer(8);

        Assert.Equal(DrainResult.SourceEmpty, Drain(handler));
        Assert.Equal(0, _queue.NextAvailableIndex);
        Assert.Equal(0, handler.Served);

        handler.State = SourceState.Ready;
        Assert.Equal(DrainResult.RingEmpty, Drain(handler));
        Assert.Equal(1, handler.Served);
        Assert.True(_driver.TryGetUsed(out _, out _));
    }

    [Fact]
    public void What_the_source_discards_spends_the_budget_without_taking_a_chain()
    {
        var handler = new ScriptedHandler { State = SourceState.Discarded };
        Offer(8);

        Assert.Equal(DrainResult.BudgetSpent, Drain(handler, budget: 3));
        Assert.Equal(3, handler.SourceChecks);
        Assert.Equal(0, _queue.NextAvailableIndex);
    }

    [Fact]
    public void The_used_length_is_what_the_writer_wrote_unless_the_handler_states_one()
    {
        var handler = new ScriptedHandler { Reply = "seven!!"u8.ToArray() };
        ushort written = Offer(64);
        Assert.Equal(DrainResult.RingEmpty, Drain(handler));
        Assert.True(_driver.TryGetUsed(out ushort head, out uint length));
        Assert.Equal((written, 7u), (head, length));

        handler.Stated = 3;
        Offer(64);
        Assert.Equal(DrainResult.RingEmpty, Drain(handler));
        Assert.True(_driver.TryGetUsed(out _, out length));
        Assert.Equal(3u, length);
    }

    [Fact]
    public void A_held_chain_is_taken_and_never_handed_back()
    {
        var handler = new ScriptedHandler { Hold = true };
        Offer(8);
        Offer(8);

        Assert.Equal(DrainResult.RingEmpty, Drain(handler));

        Assert.Equal(2, handler.Served);
        Assert.Equal(0, _driver.PendingUsed);
        Assert.False(_queue.NeedsNotification());
    }

    [Fact]
    public void A_batch_stops_at_its_budget_and_the_next_one_carries_on()
    {
        var handler = new ScriptedHandler();
        for (int i = 0; i < 3; i++)
        {
            Offer(8);
        }

        Assert.Equal(DrainResult.BudgetSpent, Drain(handler, budget: 2));
        Assert.Equal(2, _driver.PendingUsed);
        Assert.Equal(DrainResult.RingEmpty, Drain(handler, budget: 2));
        Assert.Equal(3, _driver.PendingUsed);
    }

    [Fact]
    public void A_guest_ring_error_and_a_handlers_own_error_come_out_as_they_are()
    {
        var handler = new ScriptedHandler { Throw = new GuestRequestException("shape") };
        Offer(8);
        Assert.Same(handler.Throw, Assert.Throws<GuestRequestException>(() => Drain(handler)));

        _driver.PublishAvailable(99); // no such descriptor in a queue of 16
        var e = Assert.Throws<VirtqueueException>(() => Drain(new ScriptedHandler()));
        Assert.Equal(VirtqueueViolation.HeadOutOfRange, e.Violation);
    }

    public void Dispose() => _memory.Dispose();

    private DrainResult Drain(IQueueHandler handler, int budget = 64) => QueueDrainer.Drain(handler, _queue, _chain, budget);

    private ushort Offer(uint writable)
    {
        ulong address = _next;
        _next += writable + 16;
        return _driver.AddBuffer([new DriverBuffer(address, 4, DeviceWritable: false), new DriverBuffer(address + 16, writable, DeviceWritable: true)]);
    }

    /// <summary>A handler whose every answer the test sets.</summary>
    private sealed class ScriptedHandler : IQueueHandler
    {
        public SourceState State { get; set; } = SourceState.Ready;

        public byte[] Reply { get; set; } = [];

        public uint? Stated { get; set; }

        public bool Hold { get; set; }

        public Exception? Throw { get; set; }

        public int SourceChecks { get; private set; }

        public int Served { get; private set; }

        public SourceState CheckSource()
        {
            SourceChecks++;
            return State;
        }

        public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
        {
            Served++;
            if (Throw is not null)
            {
                throw Throw;
            }
            writable.Write(Reply);
            if (Hold)
            {
                return HandlerOutcome.Held;
            }
            return Stated is { } length ? HandlerOutcome.UsedWithLength(length) : HandlerOutcome.Used;
        }

        public void Dispose()
        {
        }
    }
}
