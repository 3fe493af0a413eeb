namespace Lguest.Native.VhostUser;

/// <summary>Feature bits vhost-user adds to or reads from the virtio feature word.</summary>
public static class VhostUserFeatures
{
    /// <summary>VIRTIO_F_VERSION_1 (bit 32): this runtime speaks only modern virtio.</summary>
    public const ulong Version1 = 1UL << 32;

    /// <summary>VHOST_USER_F_PROTOCOL_FEATURES (bit 30): GET/SET_PROTOCOL_FEATURES exist, rings start disabled.</summary>
    public const ulong ProtocolFeatures = 1UL << 30;
}

/// <summary>Protocol feature bits (GET/SET_PROTOCOL_FEATURES) this back end understands.</summary>
[Flags]
public enum VhostUserProtocolFeatures : ulong
{
    None = 0,

    /// <summary>MQ (bit 0): GET_QUEUE_NUM answers.</summary>
    MultiQueue = 1UL << 0,

    /// <summary>REPLY_ACK (bit 3): NEED_REPLY gets a u64 status back.</summary>
    ReplyAck = 1UL << 3,

    /// <summary>CONFIG (bit 9): GET_CONFIG / SET_CONFIG.</summary>
    Config = 1UL << 9,

    /// <summary>INFLIGHT_SHMFD (bit 12): GET/SET_INFLIGHT_FD share a region recording requests in flight, for crash survival.</summary>
    InflightShmfd = 1UL << 12,

    /// <summary>RESET_DEVICE (bit 13): RESET_DEVICE replaces the deprecated RESET_OWNER.</summary>
    ResetDevice = 1UL << 13,
}
