using System.Buffers.Binary;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using static Lguest.Native.Tests.VhostUser.VhostUserTestSupport;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>
/// Each malformed message travels over a real socket with marked memfds attached; the reader must refuse it with the
/// named violation and close every descriptor that came with it.
/// </summary>
public sealed class VhostUserMalformedMessageTests
{
    private static byte[] Request(VhostUserRequest request, VhostUserPayload payload) => VhostUserCodec.EncodeRequest(request, payload);

    private static byte[] WithHeader(byte[] bytes, uint? request = null, uint? flags = null, uint? size = null)
    {
        if (request is { } r) { BinaryPrimitives.WriteUInt32LittleEndian(bytes, r); }
        if (flags is { } f) { BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), f); }
        if (size is { } s) { BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), s); }
        return bytes;
    }

    private static byte[] Table(params VhostUserMemoryRegion[] regions) => Request(VhostUserRequest.SetMemTable, new VhostUserMemoryTable(regions));

    public static TheoryData<string, VhostUserViolation, int> Cases => new()
    {
        { "unknown request 99", VhostUserViolation.UnknownRequest, 1 },
        { "unknown request 6 (SET_LOG_BASE, not implemented)", VhostUserViolation.UnknownRequest, 0 },
        { "inflight", VhostUserViolation.PayloadSizeMismatch, 1 },
        { "version 2", VhostUserViolation.BadVersion, 1 },
        { "version 0", VhostUserViolation.BadVersion, 0 },
        { "reserved flag", VhostUserViolation.ReservedFlags, 1 },
        { "reply flag on request", VhostUserViolation.UnexpectedReply, 1 },
        { "size over limit", VhostUserViolation.PayloadTooLarge, 1 },
        { "SET_VRING_NUM size 4", VhostUserViolation.PayloadSizeMismatch, 0 },
        { "GET_FEATURES with payload", VhostUserViolation.PayloadSizeMismatch, 0 },
        { "SET_VRING_ADDR size 32", VhostUserViolation.PayloadSizeMismatch, 0 },
        { "memory table size disagrees with count", VhostUserViolation.PayloadSizeMismatch, 2 },
        { "config size disagrees", VhostUserViolation.PayloadSizeMismatch, 0 },
        { "config over 256", VhostUserViolation.ConfigOutOfRange, 0 },
        { "config flags", VhostUserViolation.ReservedPayloadBits, 0 },
        { "fd on SET_OWNER", VhostUserViolation.FdCountMismatch, 1 },
        { "memory table one fd short", VhostUserViolation.FdCountMismatch, 1 },
        { "memory table one fd extra", VhostUserViolation.FdCountMismatch, 3 },
        { "kick without fd or bit 8", VhostUserViolation.FdCountMismatch, 0 },
        { "kick with bit 8 and an fd", VhostUserViolation.FdCountMismatch, 1 },
        { "call with two fds", VhostUserViolation.FdCountMismatch, 2 },
        { "more fds than any message", VhostUserViolation.FdCountMismatch, 9 },
        { "vring file reserved bits", VhostUserViolation.ReservedPayloadBits, 1 },
        { "vring address log flag", VhostUserViolation.ReservedPayloadBits, 0 },
        { "memory table count 0", VhostUserViolation.MemoryRegionCount, 0 },
        { "memory table count 9", VhostUserViolation.MemoryRegionCount, 8 },
        { "memory region size 0", VhostUserViolation.MemoryRegionEmpty, 1 },
        { "guest range wraps", VhostUserViolation.MemoryRegionWraps, 1 },
        { "user range wraps", VhostUserViolation.MemoryRegionWraps, 1 },
        { "mmap offset wraps", VhostUserViolation.MemoryRegionWraps, 1 },
        { "guest ranges overlap", VhostUserViolation.GuestRangesOverlap, 2 },
        { "user ranges overlap", VhostUserViolation.UserRangesOverlap, 2 },
    };

    private static byte[] Build(string name) => name switch
    {
        "unknown request 99" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), request: 99),
        "unknown request 6 (SET_LOG_BASE, not implemented)" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), request: 6),
        "inflight" => WithHeader(Request(VhostUserRequest.SetFeatures, new VhostUserU64(0)), request: (uint)VhostUserRequest.SetInflightFd),
        "version 2" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), flags: 2),
        "version 0" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), flags: 0),
        "reserved flag" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), flags: 0x11),
        "reply flag on request" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), flags: 0x5),
        "size over limit" => WithHeader(Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance), size: 4097),
        "SET_VRING_NUM size 4" => WithHeader(Request(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 256)), size: 4)[..16],
        "GET_FEATURES with payload" => Request(VhostUserRequest.GetFeatures, new VhostUserU64(0)),
        "SET_VRING_ADDR size 32" => WithHeader(Request(VhostUserRequest.SetVringAddr, new VhostUserVringAddress(0, 0, 0, 0, 0, 0)), size: 32)[..44],
        "memory table size disagrees with count" => WithHeader(Table(R(0, 4096, 0x1000, 0), R(0x10000, 4096, 0x20000, 0)), size: 8 + 32 * 2 - 8)[..(12 + 64)],
        "config size disagrees" => WithHeader(Request(VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[8])), size: 12 + 4)[..(12 + 16)],
        "config over 256" => Request(VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[257])),
        "config flags" => Request(VhostUserRequest.SetConfig, new VhostUserConfig(0, 2, new byte[4])),
        "fd on SET_OWNER" => Request(VhostUserRequest.SetOwner, VhostUserEmpty.Instance),
        "memory table one fd short" or "memory table one fd extra" => Table(R(0, 4096, 0x1000, 0), R(0x10000, 4096, 0x20000, 0)),
        "kick without fd or bit 8" => Request(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: false)),
        "kick with bit 8 and an fd" => Request(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: true)),
        "call with two fds" => Request(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: false)),
        "more fds than any message" => Table(Enumerable.Range(0, 8).Select(i => new VhostUserMemoryRegion((ulong)i << 20, 4096, (ulong)(i + 1) << 32, 0)).ToArray()),
        "vring file reserved bits" => Request(VhostUserRequest.SetVringCall, new VhostUserU64(0x200)) is var b ? WithHeader(b, request: (uint)VhostUserRequest.SetVringCall) : b,
        "vring address log flag" => Request(VhostUserRequest.SetVringAddr, new VhostUserVringAddress(0, 0, 0, 0, 0, 0)) is var a ? Flip(a, 12 + 4, 1) : a,
        "memory table count 0" => WithHeader(Table(R(0, 4096, 0x1000, 0)), size: 8)[..20] is var z ? Flip(z, 12, 0) : z,
        "memory table count 9" => Flip(Table(Enumerable.Range(0, 8).Select(i => new VhostUserMemoryRegion((ulong)i << 20, 4096, (ulong)(i + 1) << 32, 0)).ToArray()), 12, 9),
        "memory region size 0" => Table(new VhostUserMemoryRegion(0, 0, 0x1000, 0)),
        "guest range wraps" => Table(new VhostUserMemoryRegion(ulong.MaxValue - 0xfff, 0x2000, 0x1000, 0)),
        "user range wraps" => Table(new VhostUserMemoryRegion(0, 0x2000, ulong.MaxValue - 0xfff, 0)),
        "mmap offset wraps" => Table(new VhostUserMemoryRegion(0, 0x2000, 0x1000, ulong.MaxValue - 0xfff)),
        "guest ranges overlap" => Table(R(0, 0x2000, 0x10000, 0), R(0x1fff, 0x1000, 0x20000, 0)),
        "user ranges overlap" => Table(R(0, 0x2000, 0x10000, 0), R(0x100000, 0x1000, 0x11fff, 0)),
        _ => throw new ArgumentException(name),
    };

    private static VhostUserMemoryRegion R(ulong guest, ulong size, ulong user, ulong offset) => new(guest, size, user, offset);

    private static byte[] Flip(byte[] bytes, int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_malformed_message_is_refused_by_name_and_every_descriptor_is_closed(string name, VhostUserViolation violation, int fdCount)
    {
        string marker = NewMarker();
        byte[] bytes = Build(name);
        var fds = Enumerable.Range(0, fdCount).Select(_ => MarkedMemFd(marker)).ToArray();
        try
        {
            (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
            using (front)
            using (var channel = new VhostUserChannel(back))
            {
                UnixSocket.Send(front, bytes, fds);
                foreach (FileDescriptor fd in fds)
                {
                    fd.Dispose(); // only the copies in flight remain
                }
                var refused = Assert.Throws<VhostUserProtocolException>(() => channel.ReceiveRequest());
                Assert.Equal(violation, refused.Violation);
                Assert.Contains(violation.ToString(), refused.Message, StringComparison.Ordinal);
                Assert.Equal(0, OpenCopies(marker));
            }
        }
        finally
        {
            foreach (FileDescriptor fd in fds)
            {
                fd.Dispose();
            }
        }
    }

    [Fact]
    public void An_accepted_message_owns_its_descriptors_until_disposed()
    {
        string marker = NewMarker();
        using (FileDescriptor fd = MarkedMemFd(marker))
        using (VhostUserMessage? message = Exchange(Request(VhostUserRequest.SetVringCall, new VhostUserVringFile(1, NoFd: false)), fd))
        {
            Assert.NotNull(message);
            Assert.Equal(2, OpenCopies(marker));
        }
        Assert.Equal(0, OpenCopies(marker));
    }

    [Fact]
    public void Descriptors_after_the_first_byte_of_a_message_are_refused_and_closed()
    {
        string marker = NewMarker();
        byte[] bytes = Request(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: false));
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using (front)
        using (var channel = new VhostUserChannel(back))
        {
            using (FileDescriptor fd = MarkedMemFd(marker))
            {
                UnixSocket.Send(front, bytes.AsSpan(0, 12));
                UnixSocket.Send(front, bytes.AsSpan(12), [fd]);
            }
            var refused = Assert.Throws<VhostUserProtocolException>(() => channel.ReceiveRequest());
            Assert.Equal(VhostUserViolation.FdCountMismatch, refused.Violation);
            Assert.Equal(0, OpenCopies(marker));
        }
    }

    [Fact]
    public void A_connection_closed_inside_a_message_is_truncation_and_its_descriptors_are_closed()
    {
        string marker = NewMarker();
        byte[] bytes = Request(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: false));
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using var channel = new VhostUserChannel(back);
        using (front)
        using (FileDescriptor fd = MarkedMemFd(marker))
        {
            UnixSocket.Send(front, bytes.AsSpan(0, 15), [fd]);
        }
        var refused = Assert.Throws<VhostUserProtocolException>(() => channel.ReceiveRequest());
        Assert.Equal(VhostUserViolation.TruncatedMessage, refused.Violation);
        Assert.Equal(0, OpenCopies(marker));
    }

    [Fact]
    public void A_reply_to_another_request_or_without_the_reply_flag_is_refused()
    {
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using var frontEnd = new VhostUserChannel(front);
        using var backEnd = new VhostUserChannel(back);
        backEnd.SendReply(VhostUserRequest.GetQueueNum, new VhostUserU64(1));
        Assert.Equal(VhostUserViolation.UnexpectedReply, Assert.Throws<VhostUserProtocolException>(() => frontEnd.ReceiveReply(VhostUserRequest.GetFeatures)).Violation);
        UnixSocket.Send(back, VhostUserCodec.EncodeRequest(VhostUserRequest.GetFeatures, new VhostUserU64(1)));
        Assert.Equal(VhostUserViolation.UnexpectedReply, Assert.Throws<VhostUserProtocolException>(() => frontEnd.ReceiveReply(VhostUserRequest.GetFeatures)).Violation);
    }
}
