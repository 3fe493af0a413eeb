using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.VhostUser;

/// <summary>
/// Everything a ring server needs to start ring <paramref name="Index"/>: memory, a validated layout, the ring
/// features, the next available index to read (<paramref name="Base"/>), and the doorbells. A null
/// <paramref name="Kick"/> means the front end polls-mode (bit 8): the server must poll the ring; a null
/// <paramref name="Call"/> means interrupts are not wanted. <paramref name="Inflight"/>, when INFLIGHT_SHMFD is in use,
/// records the ring's requests in flight; it points into memory the session owns, valid until the ring stops.
/// </summary>
public sealed record VhostUserRingStart(
    int Index,
    GuestMemory Memory,
    SplitQueueLayout Layout,
    VirtqueueFeatures Features,
    ushort Base,
    FileDescriptor? Kick,
    FileDescriptor? Call,
    FileDescriptor? Err,
    IInflightTracker? Inflight = null);
