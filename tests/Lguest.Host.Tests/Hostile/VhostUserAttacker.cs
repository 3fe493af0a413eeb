using System.Buffers.Binary;
using Lguest.Native.Interop;

namespace Lguest.Host.Tests.Hostile;

/// <summary>
/// A vhost-user front end written from QEMU's docs/interop/vhost-user.rst, not from the back end's own codec: a
/// 12-byte header (request, flags with version 1 in bits 0-1, REPLY 0x4 and NEED_REPLY 0x8, payload size), the payload,
/// and descriptors as SCM_RIGHTS on the message's first byte. It sends whatever it is told to, well-formed or not.
/// </summary>
internal sealed class VhostUserAttacker : IDisposable
{
    public const uint GetFeatures = 1, SetFeatures = 2, SetOwner = 3, SetMemTable = 5, SetVringNum = 8, SetVringAddr = 9,
        SetVringBase = 10, GetVringBase = 11, SetVringKick = 12, SetVringCall = 13, GetProtocolFeatures = 15,
        SetProtocolFeatures = 16, SetVringEnable = 18, GetConfig = 24;

    public const uint Version = 0x1, ReplyFlag = 0x4, NeedReplyFlag = 0x8;
    public const ulong ProtocolFeaturesBit = 1UL << 30, Version1Bit = 1UL << 32;
    public const ulong ReplyAckProtocol = 1UL << 3, ConfigProtocol = 1UL << 9;
    public const ulong NoFdFlag = 0x100;

    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private VhostUserAttacker(FileDescriptor socket) => Socket = socket;

    public FileDescriptor Socket { get; }

    public static VhostUserAttacker Connect(string path) => new(UnixSocket.Connect(path));

    public void SendRaw(ReadOnlySpan<byte> bytes, params FileDescriptor[] fds) => UnixSocket.Send(Socket, bytes, fds);

    public void Send(uint request, ReadOnlySpan<byte> payload, bool needReply = false, params FileDescriptor[] fds)
    {
        byte[] message = new byte[12 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, request);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), Version | (needReply ? NeedReplyFlag : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), (uint)payload.Length);
        payload.CopyTo(message.AsSpan(12));
        SendRaw(message, fds);
    }

    /// <summary>The next reply's payload, or null when the back end closed the connection (or did not answer in time).</summary>
    public byte[]? Receive(uint request, TimeSpan? timeout = null)
    {
        byte[] header = new byte[12];
        if (!Fill(header, timeout ?? ReplyTimeout))
        {
            return null;
        }
        Assert.Equal(request, BinaryPrimitives.ReadUInt32LittleEndian(header));
        Assert.Equal(Version | ReplyFlag, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)));
        byte[] payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8))];
        return payload.Length == 0 || Fill(payload, ReplyTimeout) ? payload : null;
    }

    /// <summary>A request with a u64 reply (GET_FEATURES, GET_PROTOCOL_FEATURES).</summary>
    public ulong Get(uint request)
    {
        Send(request, []);
        byte[] reply = Receive(request) ?? throw new InvalidOperationException($"request {request}: the back end hung up");
        return BinaryPrimitives.ReadUInt64LittleEndian(reply);
    }

    /// <summary>Sends with NEED_REPLY: the REPLY_ACK status (0 accepted), or null when the back end hung up instead.</summary>
    public ulong? Ack(uint request, ReadOnlySpan<byte> payload, params FileDescriptor[] fds)
    {
        try
        {
            Send(request, payload, needReply: true, fds);
        }
        catch (SystemCallException)
        {
            return null;
        }
        byte[]? reply = Receive(request);
        return reply is null ? null : BinaryPrimitives.ReadUInt64LittleEndian(reply);
    }

    /// <summary>Feature negotiation as QEMU does it, with REPLY_ACK so every later request is answered.</summary>
    public void Handshake()
    {
        ulong offered = Get(GetFeatures);
        Assert.NotEqual(0UL, offered & ProtocolFeaturesBit);
        ulong protocol = Get(GetProtocolFeatures);
        Send(SetProtocolFeatures, U64(protocol & (ReplyAckProtocol | ConfigProtocol)));
        Assert.Equal(0UL, Ack(SetFeatures, U64(offered & (ProtocolFeaturesBit | Version1Bit))));
        Assert.Equal(0UL, Ack(SetOwner, []));
    }

    /// <summary>GET_CONFIG of the first 8 bytes: a block device's capacity in sectors.</summary>
    public ulong? Capacity()
    {
        byte[] payload = new byte[12 + 8];
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), 8);
        Send(GetConfig, payload);
        byte[]? reply = Receive(GetConfig);
        return reply is null ? null : BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(12));
    }

    /// <summary>True when the back end closes the connection within <paramref name="timeout"/>.</summary>
    public bool HangsUpWithin(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        byte[] sink = new byte[4096];
        var fds = new List<FileDescriptor>();
        while (DateTime.UtcNow < deadline)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (!Poll.WaitReadable(Socket, left < TimeSpan.Zero ? TimeSpan.Zero : left))
            {
                return false;
            }
            try
            {
                if (UnixSocket.Receive(Socket, sink, fds, 8, out _) == 0)
                {
                    return true;
                }
            }
            catch (SystemCallException)
            {
                return true;
            }
        }
        return false;
    }

    public static byte[] U64(ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    /// <summary>A vring state or file payload: index and number (SET_VRING_NUM, _BASE, _ENABLE).</summary>
    public static byte[] State(uint index, uint num)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), num);
        return bytes;
    }

    /// <summary>SET_MEM_TABLE's payload: count, padding, then guest address, size, user address, mmap offset per region.</summary>
    public static byte[] MemoryTable(params (ulong Guest, ulong Size, ulong User, ulong Offset)[] regions)
    {
        byte[] bytes = new byte[8 + 32 * regions.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)regions.Length);
        for (int i = 0; i < regions.Length; i++)
        {
            Span<byte> r = bytes.AsSpan(8 + 32 * i);
            BinaryPrimitives.WriteUInt64LittleEndian(r, regions[i].Guest);
            BinaryPrimitives.WriteUInt64LittleEndian(r[8..], regions[i].Size);
            BinaryPrimitives.WriteUInt64LittleEndian(r[16..], regions[i].User);
            BinaryPrimitives.WriteUInt64LittleEndian(r[24..], regions[i].Offset);
        }
        return bytes;
    }

    /// <summary>SET_VRING_ADDR's payload: index, flags, then the descriptor, used and available rings' user addresses, and the log.</summary>
    public static byte[] VringAddress(uint index, ulong descriptors, ulong used, ulong available)
    {
        byte[] bytes = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, index);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), descriptors);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), used);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), available);
        return bytes;
    }

    public void Dispose() => Socket.Dispose();

    private bool Fill(Span<byte> buffer, TimeSpan timeout)
    {
        int filled = 0;
        var fds = new List<FileDescriptor>();
        while (filled < buffer.Length)
        {
            if (!Poll.WaitReadable(Socket, timeout))
            {
                return false;
            }
            int read;
            try
            {
                read = UnixSocket.Receive(Socket, buffer[filled..], fds, 8, out _);
            }
            catch (SystemCallException)
            {
                return false;
            }
            if (read == 0)
            {
                return false;
            }
            filled += read;
        }
        foreach (FileDescriptor fd in fds)
        {
            fd.Dispose();
        }
        return true;
    }
}
