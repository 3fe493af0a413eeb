using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Tests.Devices;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Tests.Interop;
using Lguest.Native.Virtio;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Queues;

/// <summary>
/// A queue actor on its eventfd thread, driven as a vhost-user front end drives it: start, kick, stop. What a user
/// checks: it stops promptly even when idle, a kick racing a stop is harmless, an idle queue costs no CPU even with
/// polling on, and serving a request allocates nothing.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class VirtqueueActorSpecs : TestKit
{
    private readonly ITestOutputHelper _output;

    public VirtqueueActorSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output) => _output = output;

    private const ulong RingAddress = 0x10000;
    private const ushort RingSize = 64;
    private static readonly SupervisionSettings KillLauncher = new(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromMinutes(1));

    [Fact]
    public void An_idle_queue_asleep_in_poll_stops_without_a_kick()
    {
        using var ring = new Ring();
        var echo = new EchoDevice("idle", 1);
        IActorRef device = Sys.ActorOf(DeviceActor.Props(echo, KillLauncher));
        try
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                device.Tell(ring.Start());
                ExpectMsg<DeviceProtocol.QueueStarted>();
                long before = echo.Chains;
                ring.Serve(1);
                Assert.Equal(before + 1, echo.Chains); // each start resumes where the last stop said: nothing served twice
                // The queue has served and gone back to sleep in poll(), whose timeout is infinite: only the stop's own
                // wake-up can end it, so the bound below is generous and still proves there is one.
                BlockedThread.WaitUntilAsleepIn(echo.DrainThread!, BlockedThread.Waits);

                var clock = Stopwatch.StartNew();
                device.Tell(new DeviceProtocol.StopQueue(0));
                DeviceProtocol.QueueStopped stopped = ExpectMsg<DeviceProtocol.QueueStopped>(TimeSpan.FromSeconds(10));
                // For the record only: speed is the benchmark's to measure, not a test's to assert.
                _output.WriteLine($"stop of an idle queue: {clock.Elapsed.TotalMilliseconds:F2} ms");
                // As a vhost-user front end does with GET_VRING_BASE's answer: the next start continues from there.
                ring.Resume(Assert.NotNull(stopped.NextAvailable));
            }
        }
        finally
        {
            // The queue thread must be gone before the ring's memory is unmapped, or a failed assertion above would
            // turn into the test host's AccessViolation.
            StopAndWait(device);
        }
    }

    [Fact]
    public void A_kick_racing_a_stop_is_served_or_left_for_the_next_start_never_lost_or_doubled()
    {
        using var ring = new Ring();
        var echo = new EchoDevice("race", 1);
        IActorRef device = Sys.ActorOf(DeviceActor.Props(echo, KillLauncher, ownsDevice: false));
        for (int round = 0; round < 50; round++)
        {
            device.Tell(ring.Start());
            ExpectMsg<DeviceProtocol.QueueStarted>();
            ring.Offer();
            var kicker = new Thread(() =>
            {
                for (int i = 0; i < 20; i++)
                {
                    ring.Kick();
                }
            });
            kicker.Start();
            device.Tell(new DeviceProtocol.StopQueue(0));
            DeviceProtocol.QueueStopped stopped = ExpectMsg<DeviceProtocol.QueueStopped>();
            kicker.Join();
            // Where it stopped is exactly how many chains it completed: a request is either served and counted, or
            // still available for the next start.
            Assert.Equal(echo.Chains, (long)stopped.NextAvailable!.Value);
            ring.Resume(stopped.NextAvailable.Value);
        }
        // Every offered request was served exactly once across the restarts.
        device.Tell(ring.Start());
        ExpectMsg<DeviceProtocol.QueueStarted>();
        ring.Kick();
        AwaitCondition(() => echo.Chains == 50, TimeSpan.FromSeconds(5));
        Assert.Equal(50, ring.CollectUsed());
        StopAndWait(device);
    }

    [Fact]
    public void With_polling_on_an_idle_queue_backs_off_to_no_cpu()
    {
        using var ring = new Ring();
        var handler = new AllocationProbe();
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("polled", ring.Wiring(), handler, TimeSpan.FromMilliseconds(1)));
        ring.Serve(200); // back-to-back requests open the polling window wide

        // Idle: the window closes, notifications are back on, and the thread goes to sleep in poll().
        BlockedThread.WaitUntilAsleepIn(handler.ThreadDirectory, BlockedThread.Waits);
        long before = handler.ThreadCpuTicks();
        Thread.Sleep(1000);
        long used = handler.ThreadCpuTicks() - before;

        // The queue thread's own CPU time, in clock ticks (10 ms): a thread still polling would burn ~100 of them.
        _output.WriteLine($"queue thread CPU over 1 s idle with polling on: {used} ticks");
        Assert.InRange(used, 0, 2);
        ring.Serve(1); // and a kick still wakes it
        StopAndWait(queue); // before the ring's memory is unmapped: the queue thread may still be polling it
    }

    [Fact]
    public void Serving_a_request_allocates_nothing_on_the_queue_thread()
    {
        using var ring = new Ring();
        var handler = new AllocationProbe();
        IActorRef queue = Sys.ActorOf(VirtqueueActor.Props("probe", ring.Wiring(), handler));
        ring.Serve(500); // warm-up: JIT, tiering, the mailbox's queue segments

        // Bytes this thread allocated between the first and the last of 200 requests, each kicked and completed
        // one at a time: poll, the eventfd read, the Tell, the mailbox run, the drain. One clean round proves it.
        long fewest = long.MaxValue;
        for (int round = 0; round < 5 && fewest != 0; round++)
        {
            long first = handler.AllocatedAtNextDrain();
            ring.Serve(200);
            fewest = Math.Min(fewest, handler.LastAllocated - first);
        }
        _output.WriteLine($"bytes allocated on the queue thread over 200 requests: {fewest}");
        Assert.Equal(0, fewest);
        StopAndWait(queue); // before the ring's memory is unmapped: the queue thread may still be polling it
    }

    private void StopAndWait(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
    }

    /// <summary>A one-byte request per chain; records what its thread had allocated at each drain.</summary>
    private sealed class AllocationProbe : IQueueHandler
    {
        private long _lastAllocated;
        private string? _threadStat;

        public FileDescriptor? Source => null;

        public long LastAllocated => Interlocked.Read(ref _lastAllocated);

        public long AllocatedAtNextDrain() => LastAllocated;

        /// <summary>The /proc directory of the thread that drains.</summary>
        public string ThreadDirectory => Path.GetDirectoryName(_threadStat!)!;

        /// <summary>utime + stime of the thread that drains, from /proc (fields 14 and 15).</summary>
        public long ThreadCpuTicks()
        {
            string stat = File.ReadAllText(_threadStat!);
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Asked before every pop, so it runs on the queue thread at least once per drain.</summary>
        public SourceState CheckSource()
        {
            Interlocked.Exchange(ref _lastAllocated, GC.GetAllocatedBytesForCurrentThread());
            _threadStat ??= $"/proc/self/task/{Path.GetFileName(new FileInfo("/proc/thread-self").LinkTarget)}/stat";
            return SourceState.Ready;
        }

        /// <summary>Reads the request byte and tries to answer one: the reader and writer are part of what is measured.</summary>
        public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
        {
            readable.TryReadObject(out byte request);
            writable.TryWriteObject(request); // these chains have no writable part: the bounds check says no
            return HandlerOutcome.Used;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>One ring in flat memory, its kick eventfd, and the guest's side of it.</summary>
    private sealed class Ring : IDisposable
    {
        private readonly SplitQueueLayout _layout = SplitQueueLayout.Legacy(RingAddress, RingSize, 4096);
        private readonly EventFd _kick = EventFd.Create(nonBlocking: true);
        private SplitRingDriver _driver;
        private ushort _startAt;

        public Ring()
        {
            Memory = GuestMemory.CreateFlat(1 << 20);
            _driver = new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(RingAddress, RingSize), negotiatedFeatures: 0);
        }

        public GuestMemory Memory { get; }

        public QueueWiring Wiring() => new(0, "q0", Memory, _layout, VirtqueueFeatures.None, EventFd.Adopt(_kick.Descriptor.Duplicate()), new NoInterrupt(), new RingPosition(_startAt, resumeUsed: true));

        public DeviceProtocol.StartQueue Start() => new(Memory, 0, Wiring());

        public void Offer() => _driver.AddBuffer([new DriverBuffer(0x80000, 1, DeviceWritable: false)]);

        public void Kick() => _kick.Signal();

        public void Resume(ushort next) => _startAt = next;

        /// <summary>Offers, kicks and waits for each of <paramref name="requests"/> requests in turn.</summary>
        public void Serve(int requests)
        {
            for (int i = 0; i < requests; i++)
            {
                Offer();
                Kick();
                var deadline = Stopwatch.StartNew();
                while (!_driver.TryGetUsed(out _, out _))
                {
                    Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(5), "the queue did not complete a kicked request");
                    Thread.Yield();
                }
            }
        }

        public int CollectUsed()
        {
            int used = 0;
            while (_driver.TryGetUsed(out _, out _))
            {
                used++;
            }
            return used;
        }

        public void Dispose()
        {
            _kick.Dispose();
            Memory.Dispose();
        }
    }

    private sealed class NoInterrupt : IInterruptLine
    {
        public void Raise()
        {
        }
    }
}
