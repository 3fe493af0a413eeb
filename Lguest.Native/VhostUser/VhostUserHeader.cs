using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>
/// The 12-byte header before every message: u32 request, u32 flags, u32 payload size, in native (little-endian) order.
/// </summary>
public readonly record struct VhostUserHeader(uint Request, uint Flags, uint Size)
{
    public const int Length = 12;

    /// <summary>Version 1 in flags bits 0-1; the only version there is.</summary>
    public const uint Version = 0x1;

    public const uint VersionMask = 0x3;

    /// <summary>Set on every back end to front end reply.</summary>
    public const uint ReplyFlag = 0x4;

    /// <summary>The front end wants a REPLY_ACK status for a request that has no reply of its own.</summary>
    public const uint NeedReplyFlag = 0x8;

    public const uint KnownFlags = VersionMask | ReplyFlag | NeedReplyFlag;

    /// <summary>
    /// The largest payload accepted. The largest real one is a memory table (8 + 8 * 32 bytes) or a config message
    /// (12 + 256); anything much bigger is a confused or hostile peer, and must not make us allocate its size.
    /// </summary>
    public const uint MaxPayloadSize = 4096;

    public bool IsReply => (Flags & ReplyFlag) != 0;

    public bool NeedsReply => (Flags & NeedReplyFlag) != 0;

    public static VhostUserHeader Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Length)
        {
            throw new VhostUserProtocolException(VhostUserViolation.TruncatedMessage, $"header needs {Length} bytes, got {bytes.Length}");
        }
        return new VhostUserHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(bytes),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]));
    }

    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Request);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], Size);
    }

    /// <summary>
    /// The checks that need nothing but the header: a known request, version 1, no reserved flags, REPLY exactly when a
    /// reply is expected, and a size under the limit. Returns the request.
    /// </summary>
    public VhostUserRequest Validate(bool expectReply)
    {
        if (!Enum.IsDefined((VhostUserRequest)Request))
        {
            throw new VhostUserProtocolException(VhostUserViolation.UnknownRequest, $"request number {Request} is not one this back end knows");
        }
        var request = (VhostUserRequest)Request;
        if ((Flags & VersionMask) != Version)
        {
            throw new VhostUserProtocolException(VhostUserViolation.BadVersion, $"{request} has version {Flags & VersionMask} in flags 0x{Flags:x}; only version 1 exists");
        }
        if ((Flags & ~KnownFlags) != 0)
        {
            throw new VhostUserProtocolException(VhostUserViolation.ReservedFlags, $"{request} sets reserved flag bits 0x{Flags & ~KnownFlags:x}");
        }
        if (IsReply != expectReply)
        {
            throw new VhostUserProtocolException(
                VhostUserViolation.UnexpectedReply,
                expectReply ? $"{request} arrived where a reply was expected, without the REPLY flag" : $"{request} request carries the REPLY flag");
        }
        if (Size > MaxPayloadSize)
        {
            throw new VhostUserProtocolException(VhostUserViolation.PayloadTooLarge, $"{request} payload of {Size} bytes is over the {MaxPayloadSize}-byte limit");
        }
        return request;
    }
}
