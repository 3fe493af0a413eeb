namespace Lguest.Actors.Queues;

/// <summary>Messages a queue actor receives from its event loop (kicks, sources, polling) and from itself.</summary>
internal static class QueueProtocol
{
    /// <summary>The guest kicked the queue: there may be new available buffers.</summary>
    public sealed class Kicked
    {
        public static readonly Kicked Instance = new();

        private Kicked()
        {
        }
    }

    /// <summary>The handler's host source became readable.</summary>
    public sealed class SourceReady
    {
        public static readonly SourceReady Instance = new();

        private SourceReady()
        {
        }
    }

    /// <summary>Adaptive polling saw new available buffers without a kick.</summary>
    public sealed class Polled
    {
        public static readonly Polled Instance = new();

        private Polled()
        {
        }
    }

    /// <summary>The polling window closed with the ring still empty: ask for kicks again, then sleep.</summary>
    public sealed class PollExpired
    {
        public static readonly PollExpired Instance = new();

        private PollExpired()
        {
        }
    }

    /// <summary>A drain stopped at its batch budget; carry on after whatever else is in the mailbox.</summary>
    public sealed class Continue
    {
        public static readonly Continue Instance = new();

        private Continue()
        {
        }
    }

    /// <summary>The handler's completion eventfd fired: work it left pending has finished.</summary>
    public sealed class Completed
    {
        public static readonly Completed Instance = new();

        private Completed()
        {
        }
    }
}
