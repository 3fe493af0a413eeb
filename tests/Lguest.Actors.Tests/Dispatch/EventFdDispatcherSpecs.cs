using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Dispatch;
using Lguest.Actors.Tests.Devices;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Dispatch;

/// <summary>
/// The eventfd dispatcher as any actor sees it: Akka's mailbox guarantees hold whether a message comes from another
/// thread, from the actor itself, or from a descriptor the loop watches, and supervision restarts keep the thread.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class EventFdDispatcherSpecs(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private const string QueueDispatcher = "akka.actor.lguest-queue-dispatcher";

    [Fact]
    public void Messages_from_other_threads_and_from_the_actor_itself_each_arrive_in_the_order_sent()
    {
        const int PerSender = 2000;
        IActorRef actor = Sys.ActorOf(Props.Create(() => new OrderRecorder(TestActor, PerSender)).WithDispatcher(QueueDispatcher));

        // Two foreign threads and the actor's own self-Tells race into one mailbox.
        var senders = Enumerable.Range(0, 2).Select(s => new Thread(() =>
        {
            for (int i = 0; i < PerSender; i++)
            {
                actor.Tell(new Numbered(s, i));
            }
        })).ToList();
        actor.Tell(new StartSelfTells());
        senders.ForEach(t => t.Start());
        senders.ForEach(t => t.Join());

        Recorded recorded = ExpectMsg<Recorded>(TimeSpan.FromSeconds(20));
        Assert.Equal(3, recorded.BySender.Count);
        foreach ((int sender, List<int> numbers) in recorded.BySender)
        {
            Assert.True(numbers.SequenceEqual(Enumerable.Range(0, PerSender)), $"sender {sender} arrived out of order");
        }
        Assert.Single(recorded.Threads); // every message ran on the actor's one thread
    }

    [Fact]
    public void A_watched_eventfd_wakes_the_actor_on_its_own_thread()
    {
        using EventFd kick = EventFd.Create(nonBlocking: true);
        IActorRef actor = Sys.ActorOf(Props.Create(() => new KickCounter(kick, TestActor)).WithDispatcher(QueueDispatcher));
        int thread = ExpectMsg<int>();

        for (int i = 1; i <= 3; i++)
        {
            kick.Signal();
            Assert.Equal((i, thread), ExpectMsg<(int, int)>());
        }
        Sys.Stop(actor);
    }

    [Fact]
    public void A_kick_costs_no_read_of_its_eventfd()
    {
        using EventFd kick = EventFd.Create(nonBlocking: true);
        IActorRef actor = Sys.ActorOf(Props.Create(() => new KickCounter(kick, TestActor)).WithDispatcher(QueueDispatcher));
        int thread = ExpectMsg<int>();

        for (int i = 1; i <= 3; i++)
        {
            kick.Signal();
            Assert.Equal((i, thread), ExpectMsg<(int, int)>());
        }
        Assert.Equal(3UL, kick.Drain()); // each kick was told, and the loop never read the counter to get it
        Sys.Stop(actor);
    }

    [Fact]
    public void A_kick_while_the_watch_is_disarmed_is_told_when_it_is_armed_again()
    {
        using EventFd kick = EventFd.Create(nonBlocking: true);
        IActorRef actor = Sys.ActorOf(Props.Create(() => new KickCounter(kick, TestActor)).WithDispatcher(QueueDispatcher));
        ExpectMsg<int>();

        actor.Tell("disarm");
        ExpectMsg("disarmed");
        kick.Signal();
        actor.Tell("which thread?");
        ExpectMsg<int>(); // the loop has been round since the kick: it was seen, and held back
        ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        actor.Tell("arm");
        Assert.Equal(1, ExpectMsg<(int Kicks, int)>().Kicks);
        Sys.Stop(actor);
    }

    [Fact]
    public void A_source_epoll_cannot_watch_is_always_readable_as_poll_would_say()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "console input redirected from a file");
            using FileDescriptor file = FileDescriptor.Open(path, Native.Interop.LibC.O_RDONLY | Native.Interop.LibC.O_CLOEXEC);
            IActorRef actor = Sys.ActorOf(Props.Create(() => new SourceReader(file, TestActor)).WithDispatcher(QueueDispatcher));
            for (int i = 1; i <= 3; i++)
            {
                Assert.Equal(i, ExpectMsg<int>()); // each time it is re-armed, it fires again
            }
            Sys.Stop(actor);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_actor_restarted_by_supervision_keeps_its_thread_and_its_kicks()
    {
        using EventFd kick = EventFd.Create(nonBlocking: true);
        IActorRef parent = Sys.ActorOf(Props.Create(() => new RestartingParent(kick, TestActor)));
        int thread = ExpectMsg<int>();

        parent.Tell("fail");
        Assert.Equal(thread, ExpectMsg<int>()); // restarted: PreStart ran again, on the same loop thread
        kick.Signal();
        Assert.Equal((1, thread), ExpectMsg<(int, int)>()); // the new instance's watch is live, the old one gone
    }

    [Fact]
    public void A_descriptor_closed_while_watched_costs_the_watch_not_the_thread()
    {
        var kick = EventFd.Create(nonBlocking: true);
        IActorRef actor = Sys.ActorOf(Props.Create(() => new KickCounter(kick, TestActor)).WithDispatcher(QueueDispatcher));
        int thread = ExpectMsg<int>();

        kick.Dispose(); // closed behind the loop's back, still registered
        for (int i = 0; i < 3; i++)
        {
            actor.Tell("which thread?");
            Assert.Equal(thread, ExpectMsg<int>()); // the loop dropped the dead watch and still runs the actor
        }
        Sys.Stop(actor);
    }

    [Fact]
    public void A_kick_descriptor_closed_while_the_front_end_still_holds_its_eventfd_is_forgotten()
    {
        var kick = EventFd.Create(nonBlocking: true);
        using EventFd frontEnd = EventFd.Adopt(kick.Descriptor.Duplicate());
        IActorRef actor = Sys.ActorOf(Props.Create(() => new KickCounter(kick, TestActor)).WithDispatcher(QueueDispatcher));
        int thread = ExpectMsg<int>();

        kick.Dispose(); // ours is closed; the front end's copy keeps the eventfd, and so its registration, alive
        for (int i = 0; i < 3; i++)
        {
            frontEnd.Signal();
            actor.Tell("which thread?");
            Assert.Equal(thread, ExpectMsg<int>()); // the loop forgot the dead watch and still runs the actor
        }
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // and no kick was told for a descriptor the actor closed
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
    }

    [Fact]
    public void A_stopped_actor_leaves_no_thread_and_no_descriptor_behind()
    {
        using EventFd kick = EventFd.Create(nonBlocking: true);
        for (int i = 0; i < 20; i++)
        {
            StartAndStop(kick); // warm-up: JIT, the scheduler, the pool threads
        }
        // The loops' own threads: the thread pool may grow by a few on a loaded machine, and that is no leak of ours.
        int threadsBefore = LoopThreads();
        int fdsBefore = Directory.GetFiles("/proc/self/fd").Length;

        for (int i = 0; i < 1000; i++)
        {
            StartAndStop(kick);
        }

        AwaitAssert(() =>
        {
                Assert.InRange(LoopThreads(), 0, threadsBefore + 4);
            Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, fdsBefore + 4);
        }, TimeSpan.FromSeconds(10));
    }

    /// <summary>Threads of this process named as event loops name theirs ("eventfd ...", as the kernel keeps the name).</summary>
    private static int LoopThreads()
        => Directory.GetDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(task, "comm")).StartsWith("eventfd", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false; // the thread ended while we looked
            }
        });

    private void StartAndStop(EventFd kick)
    {
        IActorRef actor = Sys.ActorOf(Props.Create(() => new KickCounter(kick, TestActor)).WithDispatcher(QueueDispatcher));
        ExpectMsg<int>();
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
        Unwatch(actor);
    }

    private sealed record Numbered(int Sender, int Number);

    private sealed record StartSelfTells;

    private sealed record Recorded(Dictionary<int, List<int>> BySender, HashSet<int> Threads);

    /// <summary>Records every number per sender; sender 2 is the actor telling itself, one message per receive.</summary>
    private sealed class OrderRecorder : UntypedActor
    {
        private readonly IActorRef _report;
        private readonly int _perSender;
        private readonly Dictionary<int, List<int>> _bySender = [];
        private readonly HashSet<int> _threads = [];
        private int _received;

        public OrderRecorder(IActorRef report, int perSender)
        {
            _report = report;
            _perSender = perSender;
        }

        protected override void OnReceive(object message)
        {
            _threads.Add(Environment.CurrentManagedThreadId);
            switch (message)
            {
                case StartSelfTells:
                    Self.Tell(new Numbered(2, 0));
                    return;
                case Numbered n:
                    if (!_bySender.TryGetValue(n.Sender, out List<int>? list))
                    {
                        _bySender[n.Sender] = list = [];
                    }
                    list.Add(n.Number);
                    if (n.Sender == 2 && n.Number + 1 < _perSender)
                    {
                        Self.Tell(new Numbered(2, n.Number + 1));
                    }
                    if (++_received == 3 * _perSender)
                    {
                        _report.Tell(new Recorded(_bySender, _threads));
                    }
                    return;
            }
        }
    }

    /// <summary>Watches an eventfd and reports each kick with the thread it ran on; throws on "fail".</summary>
    private sealed class KickCounter : UntypedActor
    {
        private readonly EventFd _kick;
        private readonly IActorRef _report;
        private EventLoop? _loop;
        private FdWatch? _watch;
        private int _kicks;

        public KickCounter(EventFd kick, IActorRef report)
        {
            _kick = kick;
            _report = report;
        }

        protected override void PreStart()
        {
            _loop = EventFdDispatcher.LoopOf(Context);
            _watch = _loop.WatchEventFd(_kick, "kicked");
            _report.Tell(Environment.CurrentManagedThreadId);
        }

        protected override void PostStop() => _loop?.Unwatch(_watch!);

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case "kicked":
                    _report.Tell((++_kicks, Environment.CurrentManagedThreadId));
                    break;
                case "fail":
                    throw new InvalidOperationException("asked to fail");
                case "which thread?":
                    _report.Tell(Environment.CurrentManagedThreadId);
                    break;
                case "disarm":
                    _loop!.Arm(_watch!, false);
                    _report.Tell("disarmed");
                    break;
                case "arm":
                    _loop!.Arm(_watch!, true);
                    break;
            }
        }
    }

    /// <summary>Watches a source, reports each time it fires, and re-arms it, up to three times.</summary>
    private sealed class SourceReader : UntypedActor
    {
        private readonly FileDescriptor _source;
        private readonly IActorRef _report;
        private EventLoop? _loop;
        private FdWatch? _watch;
        private int _fired;

        public SourceReader(FileDescriptor source, IActorRef report)
        {
            _source = source;
            _report = report;
        }

        protected override void PreStart()
        {
            _loop = EventFdDispatcher.LoopOf(Context);
            _watch = _loop.WatchReadable(_source, "readable", armed: true);
        }

        protected override void PostStop() => _loop?.Unwatch(_watch!);

        protected override void OnReceive(object message)
        {
            _report.Tell(++_fired);
            if (_fired < 3)
            {
                _loop!.Arm(_watch!, true);
            }
        }
    }

    private sealed class RestartingParent : UntypedActor
    {
        private readonly IActorRef _child;

        public RestartingParent(EventFd kick, IActorRef report)
            => _child = Context.ActorOf(Props.Create(() => new KickCounter(kick, report)).WithDispatcher(QueueDispatcher));

        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);

        protected override void OnReceive(object message) => _child.Forward(message);
    }
}
