using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>A session over a recording ring control, and the messages a front end would send it.</summary>
internal sealed class SessionFixture : IDisposable
{
    public const ulong GuestBase = 0x10_0000;
    public const ulong UserBase = 0x7f00_0000_0000;
    public const ulong RegionSize = 0x10000;
    public const ushort RingSize = 256;

    public SessionFixture(int queues = 2, VhostUserProtocolFeatures protocol = VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ResetDevice)
    {
        Marker = VhostUserTestSupport.NewMarker();
        byte[] config = VhostUserTestSupport.BlockConfig();
        Session = new VhostUserSession(new VhostUserDeviceOptions(queues, (1UL << 1) | (1UL << 29), protocol, () => config, (offset, data) => data.Span.CopyTo(config.AsSpan((int)offset))), Control);
        Config = config;
    }

    public RecordingRingControl Control { get; } = new();

    public VhostUserSession Session { get; }

    public byte[] Config { get; }

    /// <summary>Names every memfd this fixture makes, so tests can count the session's copies.</summary>
    public string Marker { get; }

    public static VhostUserMessage Message(VhostUserRequest request, VhostUserPayload payload, bool needReply = false, params FileDescriptor[] fds)
    {
        byte[] bytes = VhostUserCodec.EncodeRequest(request, payload, needReply);
        return VhostUserCodec.Decode(VhostUserHeader.Parse(bytes), bytes.AsSpan(VhostUserHeader.Length), fds, isReply: false);
    }

    public VhostUserOutcome Send(VhostUserRequest request, VhostUserPayload? payload = null, bool needReply = false, params FileDescriptor[] fds)
        => Session.Handle(Message(request, payload ?? VhostUserEmpty.Instance, needReply, fds));

    public VhostUserProtocolException Refused(VhostUserRequest request, VhostUserPayload? payload = null, params FileDescriptor[] fds)
        => Assert.Throws<VhostUserProtocolException>(() => Send(request, payload, needReply: false, fds));

    /// <summary>Features and protocol features negotiated in full, and SET_OWNER.</summary>
    public SessionFixture Negotiated()
    {
        Send(VhostUserRequest.GetFeatures);
        Send(VhostUserRequest.SetFeatures, new VhostUserU64(Session.OfferedFeatures));
        Send(VhostUserRequest.GetProtocolFeatures);
        Send(VhostUserRequest.SetProtocolFeatures, new VhostUserU64((ulong)Session.OfferedProtocolFeatures));
        Send(VhostUserRequest.SetOwner);
        return this;
    }

    /// <summary>
    /// A memfd of one page plus the region, the region mapped from page 1: guest 0x100000 and user 0x7f0000000000 are
    /// its first byte. Returns the front end's own mapping of the whole file.
    /// </summary>
    public MemoryMapping SetMemoryTable(ulong guestBase = GuestBase, ulong userBase = UserBase)
    {
        ulong page = (ulong)MemoryMapping.PageSize;
        FileDescriptor memfd = MemFd.Create(Marker, page + RegionSize);
        MemoryMapping frontView = MemoryMapping.MapShared(memfd, 0, page + RegionSize);
        Send(VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(guestBase, RegionSize, userBase, page)]), needReply: false, memfd);
        return frontView;
    }

    public static VhostUserVringAddress RingAddress(uint index, ulong userBase = UserBase)
        => new(index, 0, userBase + 0x1000 * (3 * index), userBase + 0x1000 * (3 * index + 2), userBase + 0x1000 * (3 * index + 1), 0);

    /// <summary>NUM, BASE, ADDR, KICK (a marked memfd standing in for an eventfd) and CALL for ring <paramref name="index"/>.</summary>
    public void ConfigureRing(uint index, ushort start = 0)
    {
        Send(VhostUserRequest.SetVringNum, new VhostUserVringState(index, RingSize));
        Send(VhostUserRequest.SetVringBase, new VhostUserVringState(index, start));
        Send(VhostUserRequest.SetVringAddr, RingAddress(index));
        Send(VhostUserRequest.SetVringKick, new VhostUserVringFile(index, NoFd: false), false, VhostUserTestSupport.MarkedEventFd(Marker));
        Send(VhostUserRequest.SetVringCall, new VhostUserVringFile(index, NoFd: false), false, VhostUserTestSupport.MarkedEventFd(Marker));
    }

    public void Dispose() => Session.Dispose();
}
