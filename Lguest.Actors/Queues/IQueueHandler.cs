using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>Why a drain of the queue stopped.</summary>
public enum DrainResult
{
    /// <summary>The ring has no more available buffers: wait for the guest's kick.</summary>
    RingEmpty,

    /// <summary>The host source (stdin, tap) has nothing to give: wait until <see cref="IQueueHandler.Source"/> is readable.</summary>
    SourceEmpty,

    /// <summary>The batch budget ran out with work left: yield to other messages, then continue.</summary>
    BudgetSpent,
}

/// <summary>What a handler has for the next chain, asked before one is taken from the ring.</summary>
public enum SourceState
{
    /// <summary>Take a chain and hand it to <see cref="IQueueHandler.Handle"/>.</summary>
    Ready,

    /// <summary>Nothing to put in a chain: leave the ring alone and wait until <see cref="IQueueHandler.Source"/> is readable.</summary>
    Empty,

    /// <summary>The handler took something from its source that needs no chain (a runt frame it dropped): one step of the budget, no pop.</summary>
    Discarded,
}

/// <summary>What becomes of a chain the handler was given.</summary>
public readonly record struct HandlerOutcome
{
    private HandlerOutcome(bool held, uint? statedLength, bool pending = false)
    {
        IsHeld = held;
        StatedLength = statedLength;
        IsPending = pending;
    }

    /// <summary>Hand it back as used, with the bytes written through its <see cref="ChainWriter"/> as the used length.</summary>
    public static HandlerOutcome Used => new(false, null);

    /// <summary>The device keeps it and never hands it back (console input after stdin ended), so it cannot wake the queue again.</summary>
    public static HandlerOutcome Held => new(true, null);

    /// <summary>
    /// The device has started the work (a write in an io_uring) and will publish the chain as used itself when it
    /// completes, through <see cref="ICompletingQueueHandler.Complete"/>; until then it stays in flight.
    /// </summary>
    public static HandlerOutcome Pending => new(false, null, pending: true);

    /// <summary>
    /// Hand it back as used with a length the handler states itself, for a test double that answers chains with no
    /// writable part. A device writes through its <see cref="ChainWriter"/> and returns <see cref="Used"/>: virtio's
    /// used length is the bytes written (§2.7.8.2).
    /// </summary>
    public static HandlerOutcome UsedWithLength(uint length) => new(false, length);

    public bool IsHeld { get; }

    /// <summary>True for <see cref="Pending"/>: nothing is published now.</summary>
    public bool IsPending { get; }

    /// <summary>The length from <see cref="UsedWithLength"/>, or null when the writer's count is the used length.</summary>
    public uint? StatedLength { get; }
}

/// <summary>
/// The device logic for one queue, and nothing else: <see cref="QueueDrainer"/> pops chains, checks them against
/// guest memory, and completes them; the queue actor around it handles kicks, notification suppression and
/// interrupts. Everything here runs on the queue actor's own thread and must never block waiting for the guest or
/// a source. A chain the device cannot answer on the ring is a <c>GuestRequestException</c>; a host failure is a
/// <c>HostDeviceException</c>.
/// </summary>
public interface IQueueHandler : IDisposable
{
    /// <summary>An fd whose readability means there is work (stdin for console input, the tap for receive), or null.</summary>
    FileDescriptor? Source => null;

    /// <summary>
    /// Asked before each pop, so a device fed by a host source never takes a chain it has nothing for: the chain
    /// stays in the ring, and the data stays in the kernel. Devices that answer every chain at once keep the default.
    /// </summary>
    SourceState CheckSource() => SourceState.Ready;

    /// <summary>
    /// Serves one chain: reads the request from <paramref name="readable"/>, writes the answer to
    /// <paramref name="writable"/>, whose byte count becomes the used length.
    /// </summary>
    HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable);
}
