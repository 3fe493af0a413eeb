using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Devices;

/// <summary>A device actor driven directly, as a transport would: activation, reset, and what they leave behind.</summary>
[Collection(ProcessWideCounts.Name)]
public sealed class DeviceActorSpecs : TestKit
{
    private readonly ITestOutputHelper _output;

    public DeviceActorSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output) => _output = output;

    private const ulong RingAddress = 0x10000;
    private static readonly SupervisionSettings KillLauncher = new(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromMinutes(1));

    [Fact]
    public void Reset_of_an_idle_queue_takes_effect_at_once()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(1 << 20);
        var device = new EchoDevice("idle", 1);
        IActorRef actor = Sys.ActorOf(DeviceActor.Props(device, KillLauncher));
        Cycle(actor, memory, 3, queues: 1); // first-use costs (JIT, dispatcher start) are not what this measures
        actor.Tell(Activation(memory));
        ExpectMsg<DeviceProtocol.Activated>();
        Thread.Sleep(50); // the queue's thread is now parked in poll with nothing to do

        var clock = Stopwatch.StartNew();
        actor.Tell(new DeviceProtocol.Reset());
        ExpectMsg<DeviceProtocol.WasReset>(TimeSpan.FromSeconds(2));
        clock.Stop();

        // Correctness, not speed: without the wake eventfd the idle watcher would never return at all. The figure is
        // printed for the record; the benchmark measures it properly.
        _output.WriteLine($"reset of an idle queue took {clock.Elapsed.TotalMilliseconds:F2} ms");
        Assert.Equal(4, device.Resets);
    }

    [Fact]
    public void A_thousand_activate_and_reset_cycles_leak_no_thread_fd_or_actor()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(1 << 20);
        var device = new EchoDevice("cycled", 2);
        IActorRef actor = Sys.ActorOf(DeviceActor.Props(device, KillLauncher), "cycled");

        Cycle(actor, memory, 20); // warm up dispatcher and pool threads before taking the baseline
        int threadsBefore = DedicatedThreads();
        int fdsBefore = OpenDescriptors();

        Cycle(actor, memory, 1000);

        AwaitAssert(() =>
        {
            Assert.InRange(DedicatedThreads(), 0, threadsBefore + 4);
            Assert.InRange(OpenDescriptors(), 0, fdsBefore + 4);
        }, TimeSpan.FromSeconds(10));
        Sys.ActorSelection("/user/cycled/*").Tell(new Identify(1));
        ExpectMsg<ActorIdentity>(TimeSpan.FromSeconds(1)).Subject.ShouldBeNullOrMissing();
        Assert.Equal(1020, device.Activations);
        Assert.Equal(1020, device.Resets);
        _output.WriteLine($"threads {threadsBefore} -> {DedicatedThreads()}, fds {fdsBefore} -> {OpenDescriptors()}");
    }

    [Fact]
    public void A_ring_resumes_where_the_front_end_says_and_reports_where_it_stopped()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(1 << 20);
        var device = new EchoDevice("handover", 1);
        IActorRef actor = Sys.ActorOf(DeviceActor.Props(device, KillLauncher));
        var layout = SplitQueueLayout.Legacy(RingAddress, 8, 4096);
        var driver = new SplitRingDriver(memory, SplitRingSpec.LegacyLayout(RingAddress, 8), negotiatedFeatures: 0);
        memory.Write<ulong>(0x80000, 0x1122334455667788);
        for (int i = 0; i < 5; i++)
        {
            // Five requests the previous back end already served: the ring's used.idx says so.
            driver.AddBuffer([new DriverBuffer(0x80000, 8, DeviceWritable: false)]);
        }
        SplitRingAddresses guestView = SplitRingSpec.LegacyLayout(RingAddress, 8);
        memory.Write<ushort>(guestView.UsedIndex, 5);
        driver.AddBuffer([new DriverBuffer(0x80000, 4, DeviceWritable: false)]); // the sixth, still to be served
        var position = new RingPosition(startAvailable: 5, resumeUsed: true);
        var wiring = new QueueWiring(0, "q0", memory, layout, VirtqueueFeatures.None, EventFd.Create(), new NullInterrupt(), position);

        actor.Tell(new DeviceProtocol.Activate(memory, 0, [wiring]));
        ExpectMsg<DeviceProtocol.Activated>();
        AwaitCondition(() => device.Chains == 1, TimeSpan.FromSeconds(5));
        Assert.Equal(6, memory.Read<ushort>(guestView.UsedIndex)); // used.idx moved on from 5, not from 0
        Assert.Equal(4u, memory.Read<uint>(guestView.UsedSlot(5) + 4)); // written into used slot 5
        Assert.Null(position.StoppedAt);

        actor.Tell(new DeviceProtocol.Reset());
        ExpectMsg<DeviceProtocol.WasReset>();
        Assert.Equal((ushort)6, position.StoppedAt);
    }

    [Fact]
    public void Queues_start_and_stop_one_at_a_time_as_vhost_user_asks()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(1 << 20);
        var device = new EchoDevice("rings", 2);
        IActorRef actor = Sys.ActorOf(DeviceActor.Props(device, KillLauncher, ownsDevice: false));
        var layout0 = SplitQueueLayout.Legacy(RingAddress, 8, 4096);
        var layout1 = SplitQueueLayout.Legacy(RingAddress + 0x4000, 8, 4096);
        var driver0 = new SplitRingDriver(memory, SplitRingSpec.LegacyLayout(RingAddress, 8), negotiatedFeatures: 0);
        driver0.SetAvailableIndex(3); // three requests a previous back end already took
        var driver1 = new SplitRingDriver(memory, SplitRingSpec.LegacyLayout(RingAddress + 0x4000, 8), negotiatedFeatures: 0);
        using var kick1 = EventFd.Create();
        var position0 = new RingPosition(startAvailable: 3);

        actor.Tell(new DeviceProtocol.StartQueue(memory, 0, new QueueWiring(0, "q0", memory, layout0, VirtqueueFeatures.None, EventFd.Create(), new NullInterrupt(), position0)));
        Assert.Equal(0, ExpectMsg<DeviceProtocol.QueueStarted>().Index);
        actor.Tell(new DeviceProtocol.StartQueue(memory, 0, new QueueWiring(1, "q1", memory, layout1, VirtqueueFeatures.None, EventFd.Adopt(Dup(kick1)), new NullInterrupt())));
        Assert.Equal(1, ExpectMsg<DeviceProtocol.QueueStarted>().Index);
        Assert.Equal(1, device.Activations); // the first ring activated the device; the second joined it

        actor.Tell(new DeviceProtocol.StopQueue(0));
        Assert.Equal(new DeviceProtocol.QueueStopped(0, 3), ExpectMsg<DeviceProtocol.QueueStopped>());

        // Queue 1 is still served after queue 0 stopped.
        driver1.AddBuffer([new DriverBuffer(0x80000, 16, DeviceWritable: false)]);
        kick1.Signal();
        AwaitCondition(() => device.Chains == 1, TimeSpan.FromSeconds(5));

        actor.Tell(new DeviceProtocol.StopQueue(1));
        Assert.Equal(1, ExpectMsg<DeviceProtocol.QueueStopped>().Index);
        actor.Tell(new DeviceProtocol.StopQueue(1));
        Assert.Equal(new DeviceProtocol.QueueStopped(1, null), ExpectMsg<DeviceProtocol.QueueStopped>()); // not running
        Sys.Stop(actor);
        AwaitCondition(() => device.Resets >= 1, TimeSpan.FromSeconds(5));
        Assert.False(device.Disposed); // a vhost-user back end keeps its device across connections
    }

    private static FileDescriptor Dup(EventFd eventFd) => FileDescriptor.Adopt(Tmds.Linux.LibC.dup(eventFd.Descriptor.Number));

    private void Cycle(IActorRef actor, GuestMemory memory, int times, int queues = 2)
    {
        for (int i = 0; i < times; i++)
        {
            actor.Tell(Activation(memory, queues));
            ExpectMsg<DeviceProtocol.Activated>();
            actor.Tell(new DeviceProtocol.Reset());
            ExpectMsg<DeviceProtocol.WasReset>();
        }
    }

    private static DeviceProtocol.Activate Activation(GuestMemory memory, int queues = 1)
    {
        var wirings = new List<QueueWiring>();
        for (int i = 0; i < queues; i++)
        {
            var layout = SplitQueueLayout.Legacy(RingAddress + (ulong)(i * 0x4000), 8, 4096);
            wirings.Add(new QueueWiring(i, $"q{i}", memory, layout, VirtqueueFeatures.None, EventFd.Create(), new NullInterrupt()));
        }
        return new DeviceProtocol.Activate(memory, 0, wirings);
    }

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>
    /// The process's threads other than the .NET thread pool's: a leaked queue would leave its own thread behind,
    /// while the pool grows and shrinks with the machine's load (it injects workers when a loaded host stalls them).
    /// </summary>
    private static int DedicatedThreads() => Directory.GetDirectories("/proc/self/task").Count(task => !IsPoolThread(task));

    private static bool IsPoolThread(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).StartsWith(".NET TP", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return true; // it ended while we counted: not a leak
        }
    }

    private sealed class NullInterrupt : IInterruptLine
    {
        public void Raise()
        {
        }
    }
}

internal static class IdentityAssertions
{
    public static void ShouldBeNullOrMissing(this IActorRef? subject) => Assert.True(subject is null or Nobody, $"{subject} is still alive");
}

/// <summary>
/// Tests that count the process's threads and descriptors run alone: any other test running beside them opens
/// pipes and starts dispatcher threads of its own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideCounts
{
    public const string Name = "process-wide counts";
}
