namespace Lguest.Native.VhostUser;

/// <summary>
/// What the session asks of whoever serves the rings (the actor layer). Calls are synchronous and made from inside
/// <see cref="VhostUserSession.Handle"/>, so the session's state and the served rings never disagree.
/// </summary>
public interface IVhostUserRingControl
{
    /// <summary>
    /// A ring is started, enabled and fully described: serve it. The descriptors and memory in <paramref name="ring"/>
    /// stay owned by the session and valid until <see cref="StopRing"/> for the same index returns.
    /// </summary>
    void StartRing(VhostUserRingStart ring);

    /// <summary>
    /// Stop serving ring <paramref name="index"/> (only ever called for a started ring) and return the next
    /// available index it would have read: GET_VRING_BASE's answer, and the base for a restart. When this returns the
    /// server must no longer touch the ring's memory or descriptors.
    /// </summary>
    ushort StopRing(int index);

    /// <summary>
    /// Guest memory is about to be unmapped or replaced (a new SET_MEM_TABLE, a reset, a disconnect). Every ring has
    /// already been stopped; anything else holding the old <see cref="Memory.GuestMemory"/> must drop it now.
    /// </summary>
    void MemoryChanging();
}
