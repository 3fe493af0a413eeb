namespace Lguest.Actors.Queues;

/// <summary>
/// How a queue tells the driver it used buffers: LHREQ_IRQ for lguest, a write to the call eventfd for vhost-user.
/// The queue decides whether to interrupt (NO_INTERRUPT, EVENT_IDX); the line only delivers.
/// </summary>
public interface IInterruptLine
{
    void Raise();
}
