using Akka.Actor;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>The dispatchers reference.conf defines must load, and must give each actor a thread of its own.</summary>
public sealed class DispatcherTests : Akka.TestKit.Xunit2.TestKit
{
    public DispatcherTests()
        : base(LauncherSettingsReader.Reference)
    {
    }

    private sealed class ThreadReporter : ReceiveActor
    {
        public ThreadReporter() => Receive<string>(_ => Sender.Tell(Environment.CurrentManagedThreadId));
    }

    [Theory]
    [InlineData("akka.actor.lguest-run-loop-dispatcher")]
    [InlineData("akka.actor.lguest-queue-dispatcher")]
    public void Each_actor_runs_on_its_own_thread(string dispatcher)
    {
        IActorRef first = Sys.ActorOf(Props.Create(() => new ThreadReporter()).WithDispatcher(dispatcher));
        IActorRef second = Sys.ActorOf(Props.Create(() => new ThreadReporter()).WithDispatcher(dispatcher));

        first.Tell("which thread?");
        int firstThread = ExpectMsg<int>();
        first.Tell("again?");
        Assert.Equal(firstThread, ExpectMsg<int>());
        second.Tell("which thread?");
        Assert.NotEqual(firstThread, ExpectMsg<int>());
    }
}
