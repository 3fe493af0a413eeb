using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>
/// The one loop that takes chains from a ring and gives them to a device, lguest.c's wait_for_vq_desc / add_used
/// pair with a budget: every queue runs through here, so the order (ask the source, pop, serve, use) and the checks
/// are the same for every device.
/// </summary>
public static class QueueDrainer
{
    /// <summary>
    /// Why: a batch bounded by <paramref name="budget"/> keeps a busy guest from starving the actor's mailbox, and
    /// asking the source before the pop keeps a chain in the ring while the host has nothing for it. Ring violations
    /// come out of the pop as <see cref="VirtqueueException"/>; what the handler throws passes through unchanged.
    /// </summary>
    public static DrainResult Drain(IQueueHandler handler, SplitQueue queue, DescriptorChain chain, int budget)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(queue);
        for (int done = 0; done < budget; done++)
        {
            switch (handler.CheckSource())
            {
                case SourceState.Empty:
                    return DrainResult.SourceEmpty;
                case SourceState.Discarded:
                    continue;
            }
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            var readable = new ChainReader(chain, queue.Memory);
            var writable = new ChainWriter(chain, queue.Memory);
            HandlerOutcome outcome = handler.Handle(ref readable, ref writable);
            if (!outcome.IsHeld && !outcome.IsPending)
            {
                // A used length is 32 bits; only a chain of more than 4 GiB could hold more, and no write fills one.
                queue.AddUsed(chain.HeadIndex, outcome.StatedLength ?? (uint)Math.Min(chain.BytesWritten, uint.MaxValue));
            }
        }
        return DrainResult.BudgetSpent;
    }
}
