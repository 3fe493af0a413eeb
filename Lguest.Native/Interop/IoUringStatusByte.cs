using Lguest.Native.Virtio;

namespace Lguest.Native.Interop;

/// <summary>
/// The host address of a request's one-byte status, kept while the request is in flight in an io_uring so its answer
/// can be written when the completion arrives, long after the chain's writer is gone. Valid only while the guest
/// memory stays mapped, which the queue guarantees by waiting for every in-flight request before it stops.
/// </summary>
public readonly unsafe struct IoUringStatusByte
{
    private readonly byte* _address;

    private IoUringStatusByte(byte* address) => _address = address;

    /// <summary>The first byte <paramref name="status"/> can write; false when it has none (the caller checked already).</summary>
    public static bool TryLocate(in ChainWriter status, out IoUringStatusByte located)
    {
        Span<IoVector> vector = stackalloc IoVector[1];
        if (status.Available == 0 || status.GetIoVectors(vector, 1) != 1 || vector[0].Base == 0)
        {
            located = default;
            return false;
        }
        located = new IoUringStatusByte((byte*)vector[0].Base);
        return true;
    }

    /// <summary>Writes the answer; the used element published after this makes it visible to the driver (release).</summary>
    public void Set(byte value) => *_address = value;
}
