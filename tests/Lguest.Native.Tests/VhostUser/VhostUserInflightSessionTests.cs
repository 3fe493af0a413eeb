using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using static Lguest.Native.Tests.VhostUser.SessionFixture;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>GET_INFLIGHT_FD and SET_INFLIGHT_FD as a front end sends them, honest and hostile.</summary>
public sealed class VhostUserInflightSessionTests
{
    private const VhostUserProtocolFeatures WithInflight =
        VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.InflightShmfd;

    [Fact]
    public void Get_inflight_fd_answers_a_sealed_zeroed_memfd_laid_out_for_the_queues_asked()
    {
        using var f = new SessionFixture(queues: 2, protocol: WithInflight).Negotiated();
        VhostUserOutcome outcome = f.Send(VhostUserRequest.GetInflightFd, new VhostUserInflight(0, 0, 2, RingSize));
        using FileDescriptor fd = Assert.IsType<FileDescriptor>(outcome.ReplyFd);
        var reply = Assert.IsType<VhostUserInflight>(outcome.Reply);
        Assert.Equal(2 * InflightQueueRegion.QueueRegionSize(RingSize), reply.MmapSize);
        Assert.Equal(0UL, reply.MmapOffset);
        Assert.Equal((ushort)2, reply.NumQueues);
        Assert.Equal(RingSize, reply.QueueSize);
        Assert.Null(SharedMemoryCheck.Refusal(fd));
        Assert.Equal((long)reply.MmapSize, FileStatus.SizeOf(fd));
        Assert.NotNull(f.Session.Inflight);
    }

    [Fact]
    public void The_region_given_back_after_a_reconnect_reaches_each_started_ring()
    {
        FileDescriptor fd;
        VhostUserInflight description;
        using (var first = new SessionFixture(queues: 2, protocol: WithInflight).Negotiated())
        {
            VhostUserOutcome outcome = first.Send(VhostUserRequest.GetInflightFd, new VhostUserInflight(0, 0, 2, RingSize));
            fd = outcome.ReplyFd!;
            description = (VhostUserInflight)outcome.Reply!;
        }

        using var f = new SessionFixture(queues: 2, protocol: WithInflight).Negotiated();
        f.Send(VhostUserRequest.SetInflightFd, description, needReply: false, fd);
        using MemoryMapping front = f.SetMemoryTable();
        f.ConfigureRing(0);
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 1));
        Assert.NotNull(Assert.Single(f.Control.Started).Inflight);

        // A running ring writes the region: replacing it now would lose what it records.
        FileDescriptor again = MemFd.Create(f.Marker, description.MmapSize);
        var refused = f.Refused(VhostUserRequest.SetInflightFd, description, again);
        Assert.Equal(VhostUserViolation.RingStarted, refused.Violation);
    }

    [Fact]
    public void Without_the_protocol_feature_both_requests_are_refused()
    {
        using var f = new SessionFixture(queues: 2).Negotiated();
        Assert.Equal(VhostUserViolation.FeatureNotNegotiated, f.Refused(VhostUserRequest.GetInflightFd, new VhostUserInflight(0, 0, 1, RingSize)).Violation);
        FileDescriptor fd = MemFd.Create(f.Marker, 0x10000);
        Assert.Equal(VhostUserViolation.FeatureNotNegotiated, f.Refused(VhostUserRequest.SetInflightFd, new VhostUserInflight(0x10000, 0, 1, RingSize), fd).Violation);
        Assert.Equal(0, VhostUserTestSupport.OpenCopies(f.Marker));
    }

    public static TheoryData<string> HostileSetInflight() => ["mmap_size too small", "offset past the file", "size wraps", "unsealed memfd", "regular file", "too many queues", "queue size 0"];

    [Theory]
    [MemberData(nameof(HostileSetInflight))]
    public void Hostile_set_inflight_fd_is_refused_and_closes_the_fd(string attack)
    {
        using var f = new SessionFixture(queues: 2, protocol: WithInflight).Negotiated();
        ulong need = 2 * InflightQueueRegion.QueueRegionSize(RingSize);
        (VhostUserInflight description, FileDescriptor fd) = attack switch
        {
            "mmap_size too small" => (new VhostUserInflight(need - 1, 0, 2, RingSize), MemFd.Create(f.Marker, need)),
            "offset past the file" => (new VhostUserInflight(need, 4096, 2, RingSize), MemFd.Create(f.Marker, need)),
            "size wraps" => (new VhostUserInflight(ulong.MaxValue, ulong.MaxValue - 10, 2, RingSize), MemFd.Create(f.Marker, need)),
            "unsealed memfd" => (new VhostUserInflight(need, 0, 2, RingSize), MemFd.Create(f.Marker, need, sealSize: false)),
            "regular file" => (new VhostUserInflight(need, 0, 2, RingSize), TempFile(need)),
            "too many queues" => (new VhostUserInflight(need, 0, 3, RingSize), MemFd.Create(f.Marker, 3 * need)),
            _ => (new VhostUserInflight(need, 0, 2, 0), MemFd.Create(f.Marker, need)),
        };
        var refused = f.Refused(VhostUserRequest.SetInflightFd, description, fd);
        Assert.Equal(VhostUserViolation.InflightInvalid, refused.Violation);
        Assert.Null(f.Session.Inflight);
        Assert.Equal(0, VhostUserTestSupport.OpenCopies(f.Marker));
    }

    [Fact]
    public void A_truncated_inflight_description_and_a_missing_fd_are_malformed()
    {
        byte[] bytes = VhostUserCodec.EncodeRequest(VhostUserRequest.SetInflightFd, new VhostUserInflight(4096, 0, 1, 8));
        var shortPayload = Assert.Throws<VhostUserProtocolException>(
            () => VhostUserCodec.Decode(VhostUserHeader.Parse(bytes) with { Size = 20 }, bytes.AsSpan(VhostUserHeader.Length, 20), [], isReply: false));
        Assert.Equal(VhostUserViolation.PayloadSizeMismatch, shortPayload.Violation);
        var noFd = Assert.Throws<VhostUserProtocolException>(
            () => VhostUserCodec.Decode(VhostUserHeader.Parse(bytes), bytes.AsSpan(VhostUserHeader.Length), [], isReply: false));
        Assert.Equal(VhostUserViolation.FdCountMismatch, noFd.Violation);
    }

    private static FileDescriptor TempFile(ulong size)
    {
        string path = Path.GetTempFileName();
        File.WriteAllBytes(path, new byte[size]);
        FileDescriptor fd = FileDescriptor.Open(path, 2);   // O_RDWR
        File.Delete(path);
        return fd;
    }
}
