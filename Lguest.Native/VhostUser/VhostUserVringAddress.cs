using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>
/// struct vhost_vring_addr: where a ring's three parts are, as front-end (user) virtual addresses. The wire order is
/// descriptors, used, available, then the log's guest address.
/// </summary>
public sealed record VhostUserVringAddress(uint Index, uint Flags, ulong DescriptorUserAddress, ulong UsedUserAddress, ulong AvailableUserAddress, ulong LogGuestAddress)
    : VhostUserPayload
{
    /// <summary>VHOST_VRING_F_LOG (bit 0): log used-ring writes. Never valid here: LOG_ALL is not offered.</summary>
    public const uint LogFlag = 0x1;

    public override int Size => 40;

    public override void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], DescriptorUserAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UsedUserAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], AvailableUserAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], LogGuestAddress);
    }

    internal static VhostUserVringAddress Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        RequireSize(request, payload, 40);
        var address = new VhostUserVringAddress(
            BinaryPrimitives.ReadUInt32LittleEndian(payload),
            BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[32..]));
        if (address.Flags != 0)
        {
            throw new VhostUserProtocolException(
                VhostUserViolation.ReservedPayloadBits,
                $"{request} for vring {address.Index} sets flags 0x{address.Flags:x}; dirty logging (VHOST_VRING_F_LOG) is not offered and other bits are reserved");
        }
        return address;
    }
}
