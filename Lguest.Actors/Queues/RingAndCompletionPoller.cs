using Lguest.Actors.Dispatch;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>
/// Adaptive polling for a queue whose handler finishes work later (block writes through io_uring): new buffers in the
/// avail ring and finished work in the completion ring are both found by reading shared memory, so while the window
/// is open neither a kick nor the completion eventfd has to wake the thread. Either one is served by a drain, which
/// reaps as well.
/// </summary>
internal sealed class RingAndCompletionPoller(SplitQueue queue, ICompletingQueueHandler handler, TimeSpan maxWindow)
    : IdlePoller(maxWindow, QueueProtocol.Polled.Instance, QueueProtocol.PollExpired.Instance)
{
    public override bool HasWork() => queue.HasAvailable || handler.HasCompleted;
}
