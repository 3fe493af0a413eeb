using Lguest.Actors.Dispatch;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>Adaptive polling for one queue: the loop looks at avail.idx, which is all a poll may touch.</summary>
internal sealed class RingPoller(SplitQueue queue, TimeSpan maxWindow)
    : IdlePoller(maxWindow, QueueProtocol.Polled.Instance, QueueProtocol.PollExpired.Instance)
{
    public override bool HasWork() => queue.HasAvailable;
}
