using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>Why a handler stopped draining its queue.</summary>
public enum DrainResult
{
    /// <summary>The ring has no more available buffers: wait for the guest's kick.</summary>
    RingEmpty,

    /// <summary>The host source (stdin, tap) has nothing to give: wait until <see cref="IQueueHandler.Source"/> is readable.</summary>
    SourceEmpty,

    /// <summary>The batch budget ran out with work left: yield to other messages, then continue.</summary>
    BudgetSpent,
}

/// <summary>
/// The device logic for one queue. It is called on the queue actor's own thread, pops chains from
/// <paramref name="queue"/> and completes them with <see cref="SplitQueue.AddUsed"/>; the actor around it handles
/// kicks, notification suppression and interrupts. It must never block waiting for the guest or a source: a source
/// that would block is reported as <see cref="DrainResult.SourceEmpty"/>.
/// </summary>
public interface IQueueHandler : IDisposable
{
    /// <summary>An fd whose readability means there is work (stdin for console input, the tap for receive), or null.</summary>
    FileDescriptor? Source { get; }

    /// <summary>Processes up to <paramref name="budget"/> chains.</summary>
    DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget);
}
