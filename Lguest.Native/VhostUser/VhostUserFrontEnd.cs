using Lguest.Native.Interop;

namespace Lguest.Native.VhostUser;

/// <summary>
/// The front end's (QEMU's) half of the protocol, typed: what tests and a load generator use to drive a back end.
/// With REPLY_ACK negotiated (<see cref="ReplyAck"/>), every request without a reply of its own asks for a status and
/// a non-zero one throws, so a refused request is seen where it was sent.
/// </summary>
public sealed class VhostUserFrontEnd : IDisposable
{
    private readonly VhostUserChannel _channel;

    public VhostUserFrontEnd(FileDescriptor socket) => _channel = new VhostUserChannel(socket);

    /// <summary>Set once SET_PROTOCOL_FEATURES has acked REPLY_ACK.</summary>
    public bool ReplyAck { get; private set; }

    public ulong GetFeatures() => GetU64(VhostUserRequest.GetFeatures);

    public ulong GetProtocolFeatures() => GetU64(VhostUserRequest.GetProtocolFeatures);

    public ulong GetQueueNum() => GetU64(VhostUserRequest.GetQueueNum);

    public void SetFeatures(ulong features) => Send(VhostUserRequest.SetFeatures, new VhostUserU64(features));

    public void SetProtocolFeatures(VhostUserProtocolFeatures features)
    {
        Send(VhostUserRequest.SetProtocolFeatures, new VhostUserU64((ulong)features));
        ReplyAck = (features & VhostUserProtocolFeatures.ReplyAck) != 0;
    }

    public void SetOwner() => Send(VhostUserRequest.SetOwner, VhostUserEmpty.Instance);

    public void SetMemTable(VhostUserMemoryTable table, IReadOnlyList<FileDescriptor> fds)
    {
        ArgumentNullException.ThrowIfNull(fds);
        Send(VhostUserRequest.SetMemTable, table, [.. fds]);
    }

    public void SetVringNum(uint index, uint size) => Send(VhostUserRequest.SetVringNum, new VhostUserVringState(index, size));

    public void SetVringBase(uint index, uint value) => Send(VhostUserRequest.SetVringBase, new VhostUserVringState(index, value));

    public void SetVringAddr(VhostUserVringAddress address) => Send(VhostUserRequest.SetVringAddr, address);

    public void SetVringEnable(uint index, bool enable) => Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(index, enable ? 1u : 0u));

    /// <summary>SET_VRING_KICK / CALL / ERR with <paramref name="fd"/>, or the no-fd flag when it is null.</summary>
    public void SetVringFile(VhostUserRequest request, uint index, FileDescriptor? fd)
        => Send(request, new VhostUserVringFile(index, fd is null), fd is null ? [] : [fd]);

    /// <summary>Stops ring <paramref name="index"/>; the back end answers with its next available index.</summary>
    public uint GetVringBase(uint index)
    {
        _channel.SendRequest(VhostUserRequest.GetVringBase, new VhostUserVringState(index, 0));
        using VhostUserMessage reply = _channel.ReceiveReply(VhostUserRequest.GetVringBase);
        return reply.PayloadAs<VhostUserVringState>().Num;
    }

    public byte[] GetConfig(uint offset, int size)
    {
        _channel.SendRequest(VhostUserRequest.GetConfig, new VhostUserConfig(offset, 0, new byte[size]));
        using VhostUserMessage reply = _channel.ReceiveReply(VhostUserRequest.GetConfig);
        var config = reply.PayloadAs<VhostUserConfig>();
        if (config.Offset != offset || config.Data.Length != size)
        {
            throw new VhostUserProtocolException(VhostUserViolation.PayloadSizeMismatch, $"GET_CONFIG of {size} bytes at {offset} answered with {config.Data.Length} bytes at {config.Offset}");
        }
        return config.Data.ToArray();
    }

    /// <summary>
    /// GET_INFLIGHT_FD: asks the back end for a region tracking <paramref name="numQueues"/> queues of
    /// <paramref name="queueSize"/>; returns its description and the memfd, which the caller keeps across reconnects.
    /// </summary>
    public (VhostUserInflight Description, FileDescriptor Fd) GetInflightFd(ushort numQueues, ushort queueSize)
    {
        _channel.SendRequest(VhostUserRequest.GetInflightFd, new VhostUserInflight(0, 0, numQueues, queueSize));
        using VhostUserMessage reply = _channel.ReceiveReply(VhostUserRequest.GetInflightFd);
        return (reply.PayloadAs<VhostUserInflight>(), reply.TakeFd(0));
    }

    /// <summary>SET_INFLIGHT_FD: hands a region (from GET_INFLIGHT_FD, on this or an earlier connection) to the back end.</summary>
    public void SetInflightFd(VhostUserInflight description, FileDescriptor fd) => Send(VhostUserRequest.SetInflightFd, description, [fd]);

    public void Dispose() => _channel.Dispose();

    private ulong GetU64(VhostUserRequest request)
    {
        _channel.SendRequest(request, VhostUserEmpty.Instance);
        using VhostUserMessage reply = _channel.ReceiveReply(request);
        return reply.PayloadAs<VhostUserU64>().Value;
    }

    private void Send(VhostUserRequest request, VhostUserPayload payload, FileDescriptor[]? fds = null)
    {
        bool ack = ReplyAck;
        _channel.SendRequest(request, payload, fds ?? [], needReply: ack);
        if (ack)
        {
            using VhostUserMessage reply = _channel.ReceiveReply(request);
            ulong status = reply.PayloadAs<VhostUserU64>().Value;
            if (status != VhostUserOutcome.AckSuccess)
            {
                throw new InvalidOperationException($"the back end refused {request} (REPLY_ACK status {status})");
            }
        }
    }
}
