namespace Lguest.Actors;

/// <summary>Dispatcher ids from reference.conf.</summary>
internal static class Dispatchers
{
    /// <summary>A pinned dispatcher: each queue actor owns a thread, so blocking file I/O never stalls anyone else.</summary>
    public const string Queue = "akka.actor.lguest-queue-dispatcher";

    /// <summary>A pinned dispatcher for the guest actor, whose run loop hands it every NOTIFY.</summary>
    public const string Guest = "akka.actor.lguest-run-loop-dispatcher";
}
