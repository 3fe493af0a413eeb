using Lguest.Native.VhostUser;

namespace Lguest.Fuzz.Targets;

/// <summary>Connections as QEMU's vhost-user-blk front end opens them, in the target's record format.</summary>
internal static class VhostUserSeeds
{
    private const ulong UserBase = 0x7f00_0000_0000;
    private const byte OneEventFd = 0x01;
    private const byte OneMemFd = 0x81;

    public static byte[] QemuHandshake()
    {
        var records = new List<byte[]>();
        Negotiate(records);
        ConfigureRing(records, 0);
        records.Add(Record(0, VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[60]), needReply: false));
        records.Add(Record(0, VhostUserRequest.GetVringBase, new VhostUserVringState(0, 0)));
        return [.. records.SelectMany(r => r)];
    }

    public static byte[] ResetAndRetable()
    {
        var records = new List<byte[]>();
        Negotiate(records);
        ConfigureRing(records, 1);
        records.Add(Record(OneMemFd, VhostUserRequest.SetMemTable, Table(0x1000_0000)));
        records.Add(Record(0, VhostUserRequest.ResetDevice, VhostUserEmpty.Instance));
        records.Add(Record(0, VhostUserRequest.SetVringEnable, new VhostUserVringState(1, 0)));
        return [.. records.SelectMany(r => r)];
    }

    private static void Negotiate(List<byte[]> records)
    {
        const VhostUserProtocolFeatures protocol = VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck
            | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ResetDevice;
        records.Add(Record(0, VhostUserRequest.GetFeatures, VhostUserEmpty.Instance));
        records.Add(Record(0, VhostUserRequest.GetProtocolFeatures, VhostUserEmpty.Instance));
        records.Add(Record(0, VhostUserRequest.SetProtocolFeatures, new VhostUserU64((ulong)protocol)));
        records.Add(Record(0, VhostUserRequest.GetQueueNum, VhostUserEmpty.Instance));
        records.Add(Record(0, VhostUserRequest.SetOwner, VhostUserEmpty.Instance));
        records.Add(Record(OneEventFd, VhostUserRequest.SetVringCall, new VhostUserVringFile(0, false)));
        records.Add(Record(0, VhostUserRequest.SetFeatures, new VhostUserU64(VhostUserFeatures.Version1 | VhostUserFeatures.ProtocolFeatures | 1UL << 28)));
    }

    private static void ConfigureRing(List<byte[]> records, uint index)
    {
        records.Add(Record(OneMemFd, VhostUserRequest.SetMemTable, Table(0)));
        records.Add(Record(0, VhostUserRequest.SetVringNum, new VhostUserVringState(index, 8)));
        records.Add(Record(0, VhostUserRequest.SetVringBase, new VhostUserVringState(index, 0)));
        records.Add(Record(0, VhostUserRequest.SetVringAddr, new VhostUserVringAddress(index, 0, UserBase, UserBase + 0x200, UserBase + 0x100, 0)));
        records.Add(Record(OneEventFd, VhostUserRequest.SetVringKick, new VhostUserVringFile(index, false)));
        records.Add(Record(0, VhostUserRequest.SetVringEnable, new VhostUserVringState(index, 1)));
    }

    private static VhostUserMemoryTable Table(ulong guestAddress) => new([new VhostUserMemoryRegion(guestAddress, 0x10000, UserBase, 0)]);

    private static byte[] Record(byte fds, VhostUserRequest request, VhostUserPayload payload, bool needReply = true)
        => [fds, .. VhostUserCodec.EncodeRequest(request, payload, needReply && !VhostUserCodec.HasReply(request))];
}
