using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Queues;

/// <summary>
/// Everything a transport hands a device to serve one queue: where the ring lives, which eventfd the guest kicks,
/// and how to interrupt it. The queue actor takes ownership of <see cref="Kick"/>. <see cref="Position"/> says where
/// the ring starts and records where it stopped; without one the ring starts fresh at 0. <see cref="Inflight"/>, set by
/// a transport that keeps a crash-proof record of requests in flight (vhost-user INFLIGHT_SHMFD), makes the queue
/// finish what a previous process took before it serves anything new.
/// </summary>
public sealed record QueueWiring(
    int Index,
    string Name,
    GuestMemory Memory,
    SplitQueueLayout Layout,
    VirtqueueFeatures Features,
    EventFd Kick,
    IInterruptLine Interrupt,
    RingPosition? Position = null,
    IInflightTracker? Inflight = null);
