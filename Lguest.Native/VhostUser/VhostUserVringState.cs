using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>struct vhost_vring_state: a vring index and a number (size, base, or enable) for it.</summary>
public sealed record VhostUserVringState(uint Index, uint Num) : VhostUserPayload
{
    public override int Size => 8;

    public override void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Num);
    }

    internal static VhostUserVringState Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        RequireSize(request, payload, 8);
        return new VhostUserVringState(BinaryPrimitives.ReadUInt32LittleEndian(payload), BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]));
    }
}
