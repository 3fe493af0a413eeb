using Lguest.Native.Interop;

namespace Lguest.Native.VhostUser;

/// <summary>
/// Bytes and descriptors to messages and back, with every check that needs only the message itself: header, payload
/// layout and size, and how many descriptors the request carries. Rules that need state (ordering, queue counts,
/// file sizes) belong to <see cref="VhostUserSession"/>.
/// </summary>
public static class VhostUserCodec
{
    /// <summary>The most descriptors any message carries: one per memory region.</summary>
    public const int MaxFds = VhostUserMemoryTable.MaxRegions;

    /// <summary>
    /// Decodes a request (<paramref name="isReply"/> false, what a back end reads) or the reply to
    /// <paramref name="header"/>'s request (true, what a front end reads). Takes ownership of <paramref name="fds"/>:
    /// they move into the message, or are all closed when it is rejected.
    /// </summary>
    public static VhostUserMessage Decode(VhostUserHeader header, ReadOnlySpan<byte> payload, IReadOnlyList<FileDescriptor> fds, bool isReply)
    {
        ArgumentNullException.ThrowIfNull(fds);
        try
        {
            VhostUserRequest request = header.Validate(isReply);
            if (payload.Length != header.Size)
            {
                throw new VhostUserProtocolException(VhostUserViolation.TruncatedMessage, $"{request} header says {header.Size} payload bytes, {payload.Length} arrived");
            }
            VhostUserPayload parsed = isReply ? DecodeReply(request, payload) : DecodeRequest(request, payload);
            int expected = isReply ? (request == VhostUserRequest.GetInflightFd ? 1 : 0) : ExpectedFds(request, parsed);
            if (fds.Count != expected)
            {
                throw new VhostUserProtocolException(VhostUserViolation.FdCountMismatch, $"{request} carries {fds.Count} descriptors; it must carry {expected}");
            }
            return new VhostUserMessage(request, header.Flags, parsed, fds);
        }
        catch
        {
            foreach (FileDescriptor fd in fds)
            {
                fd.Dispose();
            }
            throw;
        }
    }

    /// <summary>Header and payload bytes for a message (the descriptors travel beside them).</summary>
    public static byte[] Encode(VhostUserRequest request, uint flags, VhostUserPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var bytes = new byte[VhostUserHeader.Length + payload.Size];
        new VhostUserHeader((uint)request, flags, (uint)payload.Size).Write(bytes);
        payload.Write(bytes.AsSpan(VhostUserHeader.Length));
        return bytes;
    }

    /// <summary>A request as a front end sends it: version 1, NEED_REPLY when asked.</summary>
    public static byte[] EncodeRequest(VhostUserRequest request, VhostUserPayload payload, bool needReply = false)
        => Encode(request, VhostUserHeader.Version | (needReply ? VhostUserHeader.NeedReplyFlag : 0), payload);

    /// <summary>A reply as a back end sends it: version 1 and REPLY.</summary>
    public static byte[] EncodeReply(VhostUserRequest request, VhostUserPayload payload)
        => Encode(request, VhostUserHeader.Version | VhostUserHeader.ReplyFlag, payload);

    /// <summary>True for requests answered with their own reply; REPLY_ACK never applies to these.</summary>
    public static bool HasReply(VhostUserRequest request) => request is VhostUserRequest.GetFeatures or VhostUserRequest.GetProtocolFeatures
        or VhostUserRequest.GetQueueNum or VhostUserRequest.GetVringBase or VhostUserRequest.GetConfig or VhostUserRequest.GetInflightFd;

    private static VhostUserPayload DecodeRequest(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        switch (request)
        {
            case VhostUserRequest.GetFeatures or VhostUserRequest.SetOwner or VhostUserRequest.ResetOwner
                or VhostUserRequest.GetProtocolFeatures or VhostUserRequest.GetQueueNum or VhostUserRequest.ResetDevice:
                VhostUserPayload.RequireSize(request, payload, 0);
                return VhostUserEmpty.Instance;
            case VhostUserRequest.SetFeatures or VhostUserRequest.SetProtocolFeatures:
                return VhostUserU64.Parse(request, payload);
            case VhostUserRequest.SetMemTable:
                return VhostUserMemoryTable.Parse(request, payload);
            case VhostUserRequest.SetVringNum or VhostUserRequest.SetVringBase or VhostUserRequest.GetVringBase or VhostUserRequest.SetVringEnable:
                return VhostUserVringState.Parse(request, payload);
            case VhostUserRequest.SetVringAddr:
                return VhostUserVringAddress.Parse(request, payload);
            case VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr:
                return VhostUserVringFile.Parse(request, payload);
            case VhostUserRequest.GetConfig or VhostUserRequest.SetConfig:
                return VhostUserConfig.Parse(request, payload);
            case VhostUserRequest.GetInflightFd or VhostUserRequest.SetInflightFd:
                return VhostUserInflight.Parse(request, payload);
            default:
                throw new VhostUserProtocolException(VhostUserViolation.UnsupportedRequest, $"{request} is not implemented by this back end");
        }
    }

    private static VhostUserPayload DecodeReply(VhostUserRequest request, ReadOnlySpan<byte> payload) => request switch
    {
        VhostUserRequest.GetVringBase => VhostUserVringState.Parse(request, payload),
        VhostUserRequest.GetConfig => VhostUserConfig.Parse(request, payload),
        VhostUserRequest.GetInflightFd => VhostUserInflight.Parse(request, payload),
        // GET_FEATURES, GET_PROTOCOL_FEATURES and GET_QUEUE_NUM answer a u64; every other request's reply is a REPLY_ACK status.
        _ => VhostUserU64.Parse(request, payload),
    };

    private static int ExpectedFds(VhostUserRequest request, VhostUserPayload payload) => request switch
    {
        VhostUserRequest.SetMemTable => ((VhostUserMemoryTable)payload).Regions.Count,
        VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr => ((VhostUserVringFile)payload).NoFd ? 0 : 1,
        VhostUserRequest.SetInflightFd => 1,
        _ => 0,
    };
}
