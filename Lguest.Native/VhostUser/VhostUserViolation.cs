namespace Lguest.Native.VhostUser;

/// <summary>Which vhost-user rule a message broke; each is named in the exception's message.</summary>
public enum VhostUserViolation
{
    /// <summary>A request number this back end does not know.</summary>
    UnknownRequest,

    /// <summary>A known request this back end does not implement (the inflight-fd pair).</summary>
    UnsupportedRequest,

    /// <summary>Flags bits 0-1 are not version 1.</summary>
    BadVersion,

    /// <summary>Flags bits other than version, REPLY and NEED_REPLY are set.</summary>
    ReservedFlags,

    /// <summary>A request carried REPLY, or a reply lacked it or answered a different request.</summary>
    UnexpectedReply,

    /// <summary>The header's size is over <see cref="VhostUserHeader.MaxPayloadSize"/>.</summary>
    PayloadTooLarge,

    /// <summary>The payload's size is not what the request's layout needs.</summary>
    PayloadSizeMismatch,

    /// <summary>The connection ended in the middle of a message.</summary>
    TruncatedMessage,

    /// <summary>The wrong number of descriptors came with a message, or they came after its first byte.</summary>
    FdCountMismatch,

    /// <summary>Payload bits the protocol reserves (vring file bits 9-63, vring address flags) are set.</summary>
    ReservedPayloadBits,

    /// <summary>A memory table with no regions or more than eight.</summary>
    MemoryRegionCount,

    /// <summary>A memory region of size 0.</summary>
    MemoryRegionEmpty,

    /// <summary>guest_addr + size, user_addr + size or mmap_offset + size wraps past 2^64.</summary>
    MemoryRegionWraps,

    /// <summary>Two regions share guest-physical addresses.</summary>
    GuestRangesOverlap,

    /// <summary>Two regions share front-end (user) addresses, so ring addresses would be ambiguous.</summary>
    UserRangesOverlap,

    /// <summary>mmap_offset + size runs past the end of the region's file.</summary>
    MemoryRegionPastFileEnd,

    /// <summary>A vring index at or past the device's queue count.</summary>
    VringIndexOutOfRange,

    /// <summary>A queue size of 0, not a power of two, or over 32768.</summary>
    QueueSizeInvalid,

    /// <summary>A vring base that does not fit a split ring's 16-bit index.</summary>
    VringBaseInvalid,

    /// <summary>SET_VRING_ENABLE with a value other than 0 or 1.</summary>
    VringEnableInvalid,

    /// <summary>A ring part's user address does not translate to guest memory inside one region.</summary>
    RingAddressUntranslatable,

    /// <summary>A ring part misaligned (descriptors 16, available 2, used 4 bytes).</summary>
    RingAddressMisaligned,

    /// <summary>A ring's size or base changed while it is started.</summary>
    RingStarted,

    /// <summary>A ring configured or kicked before SET_MEM_TABLE.</summary>
    MemoryTableMissing,

    /// <summary>SET_VRING_ADDR before SET_VRING_NUM.</summary>
    RingSizeMissing,

    /// <summary>SET_VRING_KICK before SET_VRING_ADDR: a started ring needs to know where it is.</summary>
    RingAddressMissing,

    /// <summary>SET_FEATURES before GET_FEATURES.</summary>
    FeaturesNotQueried,

    /// <summary>SET_FEATURES with bits the back end did not offer.</summary>
    FeaturesNotOffered,

    /// <summary>GET/SET_PROTOCOL_FEATURES without VHOST_USER_F_PROTOCOL_FEATURES offered, or SET before GET.</summary>
    ProtocolFeaturesNotQueried,

    /// <summary>SET_PROTOCOL_FEATURES with bits the back end did not offer.</summary>
    ProtocolFeaturesNotOffered,

    /// <summary>A request that needs a feature (protocol feature, or VHOST_USER_F_PROTOCOL_FEATURES) not negotiated.</summary>
    FeatureNotNegotiated,

    /// <summary>SET_OWNER a second time.</summary>
    OwnerAlreadySet,

    /// <summary>Memory or rings touched before SET_OWNER.</summary>
    NotOwner,

    /// <summary>GET/SET_CONFIG outside the device's configuration space, over 256 bytes, or with unknown flags.</summary>
    ConfigOutOfRange,

    /// <summary>A region's fd is not a memfd sealed against shrinking, or is sealed against writes or not open read-write.</summary>
    MemoryRegionUnsafe,

    /// <summary>mmap refused a region that passed every check (too large for the address space, a kind mmap rejects).</summary>
    MemoryRegionUnmappable,

    /// <summary>A kick, call or error fd that is not an eventfd, or a kick without one (polling mode is not supported).</summary>
    VringFileInvalid,

    /// <summary>A message started and did not finish, the handshake did not happen, or a reply was not read, in time.</summary>
    DeadlineExpired,

    /// <summary>Something the front end supplied (its call fd, its memory) failed while a ring was being served.</summary>
    FrontEndResourceFailed,

    /// <summary>GET/SET_INFLIGHT_FD with a layout the device cannot have, or an inflight fd or range that cannot be mapped safely.</summary>
    InflightInvalid,
}
