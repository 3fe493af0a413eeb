using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>
/// GET_CONFIG / SET_CONFIG: u32 offset, u32 size, u32 flags, then size bytes of device configuration space. A
/// GET_CONFIG request carries size bytes too (zeroes) which the reply fills in.
/// </summary>
public sealed record VhostUserConfig(uint Offset, uint Flags, ReadOnlyMemory<byte> Data) : VhostUserPayload
{
    public const int HeaderSize = 12;

    /// <summary>VHOST_USER_MAX_CONFIG_SIZE: no device's configuration space is larger.</summary>
    public const int MaxDataSize = 256;

    /// <summary>SET_CONFIG flags: VHOST_SET_CONFIG_TYPE_FRONTEND 0, MIGRATION 1.</summary>
    public const uint MigrationFlag = 0x1;

    public override int Size => HeaderSize + Data.Length;

    public override void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)Data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Flags);
        Data.Span.CopyTo(destination[HeaderSize..]);
    }

    internal static VhostUserConfig Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < HeaderSize)
        {
            throw new VhostUserProtocolException(VhostUserViolation.PayloadSizeMismatch, $"{request} payload is {payload.Length} bytes, shorter than its {HeaderSize}-byte header");
        }
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        if (size > MaxDataSize)
        {
            throw new VhostUserProtocolException(VhostUserViolation.ConfigOutOfRange, $"{request} asks for {size} bytes of config; at most {MaxDataSize} exist");
        }
        RequireSize(request, payload, HeaderSize + (int)size);
        if ((flags & ~MigrationFlag) != 0)
        {
            throw new VhostUserProtocolException(VhostUserViolation.ReservedPayloadBits, $"{request} sets unknown config flags 0x{flags:x}");
        }
        return new VhostUserConfig(offset, flags, payload[HeaderSize..].ToArray());
    }
}
