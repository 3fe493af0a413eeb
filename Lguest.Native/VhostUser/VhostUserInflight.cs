using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>
/// The inflight description of GET_INFLIGHT_FD and SET_INFLIGHT_FD: the shared region's size and offset in its fd, and
/// the queue count and size it was laid out for. QEMU sends its C struct, padded to 24 bytes.
/// </summary>
public sealed record VhostUserInflight(ulong MmapSize, ulong MmapOffset, ushort NumQueues, ushort QueueSize) : VhostUserPayload
{
    public const int EncodedSize = 24;

    public override int Size => EncodedSize;

    public override void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, MmapSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], MmapOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[16..], NumQueues);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[18..], QueueSize);
        destination[20..EncodedSize].Clear();
    }

    internal static VhostUserInflight Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        RequireSize(request, payload, EncodedSize);
        return new VhostUserInflight(
            BinaryPrimitives.ReadUInt64LittleEndian(payload),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(payload[16..]),
            BinaryPrimitives.ReadUInt16LittleEndian(payload[18..]));
    }
}
