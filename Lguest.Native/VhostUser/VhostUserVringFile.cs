namespace Lguest.Native.VhostUser;

/// <summary>
/// The u64 of SET_VRING_KICK / CALL / ERR: the vring index in bits 0-7, and bit 8 set when no descriptor comes with
/// it (the ring is polled, or its notifications are turned off).
/// </summary>
public sealed record VhostUserVringFile(uint Index, bool NoFd) : VhostUserPayload
{
    public const ulong IndexMask = 0xFF;
    public const ulong NoFdFlag = 0x100;

    public override int Size => 8;

    public ulong Value => Index | (NoFd ? NoFdFlag : 0);

    public override void Write(Span<byte> destination) => new VhostUserU64(Value).Write(destination);

    internal static VhostUserVringFile Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        ulong value = VhostUserU64.Parse(request, payload).Value;
        if ((value & ~(IndexMask | NoFdFlag)) != 0)
        {
            throw new VhostUserProtocolException(
                VhostUserViolation.ReservedPayloadBits,
                $"{request} payload 0x{value:x} sets bits above 8; only the index (bits 0-7) and the no-fd flag (bit 8) are defined");
        }
        return new VhostUserVringFile((uint)(value & IndexMask), (value & NoFdFlag) != 0);
    }
}
