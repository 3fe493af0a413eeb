using Lguest.Actors.Devices;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>What each device offers a vhost-user front end.</summary>
internal static class VhostUserDevices
{
    private const byte BlockDeviceType = 2;

    /// <summary>
    /// The ring features our split queue implements. lguest offered them per device as the seed did; over vhost-user
    /// the ring belongs to the transport, and QEMU's vhost-user-rng acks them whatever the back end says.
    /// </summary>
    private const ulong RingFeatures = (1UL << VirtqueueFeatureBits.IndirectDescriptors) | (1UL << VirtqueueFeatureBits.EventIndex);

    /// <summary>
    /// The device's own features and the ring features (VERSION_1 and PROTOCOL_FEATURES are added by the session),
    /// and the protocol features our front ends need: REPLY_ACK, MQ for GET_QUEUE_NUM, and CONFIG for the block
    /// device, whose capacity QEMU reads with GET_CONFIG (QEMU's net and rng have no use for it and warn if offered).
    /// </summary>
    public static VhostUserDeviceOptions OptionsFor(VirtioDevice device)
    {
        VhostUserProtocolFeatures protocol = VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue;
        Func<ReadOnlyMemory<byte>>? config = null;
        if (device.DeviceType == BlockDeviceType)
        {
            // INFLIGHT_SHMFD for block only: QEMU's vhost-user-blk reconnects and hands the region back, while its
            // vhost-user-rng aborts on reconnect, so nothing else could use it.
            protocol |= VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.InflightShmfd;
            config = () => device.Config;
        }
        return new VhostUserDeviceOptions(device.Queues.Count, device.OfferedFeatures | RingFeatures, protocol, config);
    }
}
