using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>
/// A handler that may answer a chain later (<see cref="HandlerOutcome.Pending"/>), the block device's writes through
/// io_uring. The queue actor hands it the ring before the first drain, submits after every drain, publishes what
/// finished after every drain and whenever <see cref="Completions"/> fires, and waits for everything in flight before
/// the queue stops, because the kernel may still be reading guest memory for it. All on the queue's own thread.
/// </summary>
public interface ICompletingQueueHandler
{
    /// <summary>
    /// Signalled when pending work completes, so the queue's thread can sleep on it; null when this handler
    /// will never leave anything pending (no io_uring on this host), and the queue skips the rest of this interface.
    /// </summary>
    EventFd? Completions { get; }

    /// <summary>Chains handed back as <see cref="HandlerOutcome.Pending"/> and not yet published.</summary>
    int InFlight { get; }

    /// <summary>Whether something finished and waits to be published (a shared-memory read, for adaptive polling).</summary>
    bool HasCompleted { get; }

    /// <summary>The ring completions are published to; until called, every chain is answered at once.</summary>
    void Attach(SplitQueue queue);

    /// <summary>Starts the work prepared during the drain (one system call for the batch, none when there is none).</summary>
    void Submit();

    /// <summary>Publishes every finished chain as used; reads shared memory only, so it is free when nothing finished.</summary>
    int Complete();

    /// <summary>
    /// Waits until the kernel has finished everything in flight, then publishes it as used; chains a poisoned ring
    /// cannot take stay in flight in the vhost-user inflight record for the next back end.
    /// </summary>
    void CompleteAll();
}
