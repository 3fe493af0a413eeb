namespace Lguest.Actors;

/// <summary>Dispatcher ids from reference.conf.</summary>
internal static class Dispatchers
{
    /// <summary>An eventfd dispatcher: each queue actor owns a thread that sleeps on its kick and serves its ring.</summary>
    public const string Queue = "akka.actor.lguest-queue-dispatcher";

    /// <summary>A pinned dispatcher for the guest actor, whose run loop hands it every NOTIFY.</summary>
    public const string Guest = "akka.actor.lguest-run-loop-dispatcher";
}
