using Lguest.Actors.Devices;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Engines.VhostUser;

/// <summary>What each device offers a vhost-user front end.</summary>
internal static class VhostUserDevices
{
    /// <summary>
    /// The device's own features (VERSION_1 and PROTOCOL_FEATURES are added by the session), and the protocol
    /// features every front end we serve needs: REPLY_ACK, MQ for GET_QUEUE_NUM, and CONFIG for devices with a
    /// configuration space (QEMU's vhost-user-blk reads its capacity with GET_CONFIG).
    /// </summary>
    public static VhostUserDeviceOptions OptionsFor(VirtioDevice device)
    {
        VhostUserProtocolFeatures protocol = VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue;
        Func<ReadOnlyMemory<byte>>? config = null;
        if (!device.Config.IsEmpty)
        {
            protocol |= VhostUserProtocolFeatures.Config;
            config = () => device.Config;
        }
        return new VhostUserDeviceOptions(device.Queues.Count, device.OfferedFeatures, protocol, config);
    }
}
