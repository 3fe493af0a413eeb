namespace Lguest.Native.Virtio;

/// <summary>
/// Records which chains a queue has taken but not yet handed back, somewhere that outlives the device process, so a
/// restarted device can finish them instead of losing them (vhost-user's inflight I/O tracking). The queue calls it;
/// the transport that owns the record implements it. Calls come from the queue's own thread and must not allocate or
/// block: they sit on the hot path of every request.
/// </summary>
public interface IInflightTracker
{
    /// <summary>
    /// Called once when the queue starts, before any chain is popped: repairs the record against
    /// <paramref name="ringUsedIndex"/> (the used.idx the ring holds now), writes the heads still in flight into
    /// <paramref name="resubmit"/> in the order they were first taken, and returns how many. Each is below the queue
    /// size. The queue resumes reading the avail ring at <paramref name="ringUsedIndex"/> plus that count.
    /// </summary>
    int Recover(ushort ringUsedIndex, Span<ushort> resubmit);

    /// <summary>The chain at <paramref name="head"/> was taken from the avail ring and is about to be served.</summary>
    void Taken(ushort head);

    /// <summary>The used element for <paramref name="head"/> is written; used.idx is about to be published.</summary>
    void Publishing(ushort head);

    /// <summary>used.idx now reads <paramref name="usedIndex"/>, which covers <paramref name="head"/>.</summary>
    void Published(ushort head, ushort usedIndex);
}
