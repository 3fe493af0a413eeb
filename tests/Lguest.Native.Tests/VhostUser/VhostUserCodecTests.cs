using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Native.Tests.VhostUser;

public sealed class VhostUserCodecTests
{
    public static TheoryData<VhostUserRequest, VhostUserPayload> Requests => new()
    {
        { VhostUserRequest.GetFeatures, VhostUserEmpty.Instance },
        { VhostUserRequest.SetFeatures, new VhostUserU64(0x1_4000_0006) },
        { VhostUserRequest.SetOwner, VhostUserEmpty.Instance },
        { VhostUserRequest.ResetOwner, VhostUserEmpty.Instance },
        { VhostUserRequest.SetVringNum, new VhostUserVringState(1, 256) },
        { VhostUserRequest.SetVringAddr, new VhostUserVringAddress(1, 0, 0x7f00_0000_0000, 0x7f00_0000_2000, 0x7f00_0000_1000, 0xdead_0000) },
        { VhostUserRequest.SetVringBase, new VhostUserVringState(0, 65535) },
        { VhostUserRequest.GetVringBase, new VhostUserVringState(3, 0) },
        { VhostUserRequest.SetVringKick, new VhostUserVringFile(5, NoFd: true) },
        { VhostUserRequest.SetVringCall, new VhostUserVringFile(255, NoFd: true) },
        { VhostUserRequest.SetVringErr, new VhostUserVringFile(0, NoFd: true) },
        { VhostUserRequest.GetProtocolFeatures, VhostUserEmpty.Instance },
        { VhostUserRequest.SetProtocolFeatures, new VhostUserU64(0x209) },
        { VhostUserRequest.GetQueueNum, VhostUserEmpty.Instance },
        { VhostUserRequest.SetVringEnable, new VhostUserVringState(1, 1) },
        { VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[60]) },
        { VhostUserRequest.SetConfig, new VhostUserConfig(20, 1, new byte[] { 1, 2, 3 }) },
        { VhostUserRequest.ResetDevice, VhostUserEmpty.Instance },
    };

    public static TheoryData<VhostUserRequest, VhostUserPayload> Replies => new()
    {
        { VhostUserRequest.GetFeatures, new VhostUserU64(0x1_4000_0000) },
        { VhostUserRequest.GetProtocolFeatures, new VhostUserU64(0x209) },
        { VhostUserRequest.GetQueueNum, new VhostUserU64(4) },
        { VhostUserRequest.GetVringBase, new VhostUserVringState(1, 42) },
        { VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[] { 9, 8, 7, 6 }) },
        { VhostUserRequest.SetMemTable, new VhostUserU64(0) },
        { VhostUserRequest.SetVringAddr, new VhostUserU64(1) },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Every_request_round_trips(VhostUserRequest request, VhostUserPayload payload)
    {
        byte[] bytes = VhostUserCodec.EncodeRequest(request, payload, needReply: true);
        Assert.Equal(VhostUserHeader.Length + payload.Size, bytes.Length);
        var header = VhostUserHeader.Parse(bytes);
        Assert.Equal(new VhostUserHeader((uint)request, 0x9, (uint)payload.Size), header);

        using VhostUserMessage message = VhostUserCodec.Decode(header, bytes.AsSpan(VhostUserHeader.Length), [], isReply: false);
        Assert.Equal(request, message.Request);
        Assert.True(message.NeedsReply);
        AssertSamePayload(payload, message.Payload);
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void Every_reply_round_trips(VhostUserRequest request, VhostUserPayload payload)
    {
        byte[] bytes = VhostUserCodec.EncodeReply(request, payload);
        var header = VhostUserHeader.Parse(bytes);
        Assert.Equal(VhostUserHeader.Version | VhostUserHeader.ReplyFlag, header.Flags);
        using VhostUserMessage message = VhostUserCodec.Decode(header, bytes.AsSpan(VhostUserHeader.Length), [], isReply: true);
        AssertSamePayload(payload, message.Payload);
    }

    [Fact]
    public void The_memory_table_round_trips_with_one_descriptor_per_region()
    {
        var table = new VhostUserMemoryTable([
            new VhostUserMemoryRegion(0, 0x8000_0000, 0x7f00_0000_0000, 0),
            new VhostUserMemoryRegion(0x1_0000_0000, 0x4000_0000, 0x7f00_8000_0000, 0x8000_0000),
        ]);
        byte[] bytes = VhostUserCodec.EncodeRequest(VhostUserRequest.SetMemTable, table);
        Assert.Equal(12 + 8 + 64, bytes.Length);
        string marker = VhostUserTestSupport.NewMarker();
        FileDescriptor[] fds = [MemFd.Create(marker, 4096), MemFd.Create(marker, 4096)];
        using VhostUserMessage message = VhostUserCodec.Decode(VhostUserHeader.Parse(bytes), bytes.AsSpan(12), fds, isReply: false);
        Assert.Equal(table.Regions, message.PayloadAs<VhostUserMemoryTable>().Regions);
        Assert.Equal(2, message.FdCount);
    }

    [Fact]
    public void The_vring_file_payload_puts_the_index_in_bits_0_to_7_and_no_fd_in_bit_8()
    {
        Assert.Equal(0x105UL, new VhostUserVringFile(5, NoFd: true).Value);
        Assert.Equal(0x5UL, new VhostUserVringFile(5, NoFd: false).Value);
    }

    private static void AssertSamePayload(VhostUserPayload expected, VhostUserPayload actual)
    {
        if (expected is VhostUserConfig config)
        {
            var got = Assert.IsType<VhostUserConfig>(actual);
            Assert.Equal((config.Offset, config.Flags), (got.Offset, got.Flags));
            Assert.Equal(config.Data.ToArray(), got.Data.ToArray());
        }
        else
        {
            Assert.Equal(expected, actual);
        }
    }
}
