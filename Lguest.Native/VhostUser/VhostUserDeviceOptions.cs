namespace Lguest.Native.VhostUser;

/// <summary>
/// What the device behind a session offers. <see cref="DeviceFeatures"/> are the device's own bits; VERSION_1 and
/// VHOST_USER_F_PROTOCOL_FEATURES are always added. <see cref="ReadConfig"/> supplies configuration space for
/// GET_CONFIG (needed when CONFIG is offered); <see cref="WriteConfig"/>, when set, accepts SET_CONFIG.
/// </summary>
public sealed record VhostUserDeviceOptions(
    int QueueCount,
    ulong DeviceFeatures,
    VhostUserProtocolFeatures ProtocolFeatures,
    Func<ReadOnlyMemory<byte>>? ReadConfig = null,
    Action<uint, ReadOnlyMemory<byte>>? WriteConfig = null)
{
    /// <summary>The most rings one device may have: vring indices are 8 bits in KICK/CALL/ERR.</summary>
    public const int MaxQueues = 256;

    public ulong OfferedFeatures => DeviceFeatures | VhostUserFeatures.Version1 | VhostUserFeatures.ProtocolFeatures;

    internal void Validate()
    {
        if (QueueCount < 1 || QueueCount > MaxQueues)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCount), QueueCount, $"a vhost-user device has 1 to {MaxQueues} queues");
        }
        if ((ProtocolFeatures & ~(VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ResetDevice
            | VhostUserProtocolFeatures.InflightShmfd)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ProtocolFeatures), ProtocolFeatures, "only MQ, REPLY_ACK, CONFIG, RESET_DEVICE and INFLIGHT_SHMFD are implemented");
        }
        if ((ProtocolFeatures & VhostUserProtocolFeatures.Config) != 0 && ReadConfig is null)
        {
            throw new ArgumentException("offering CONFIG needs a ReadConfig to answer GET_CONFIG", nameof(ReadConfig));
        }
    }
}
