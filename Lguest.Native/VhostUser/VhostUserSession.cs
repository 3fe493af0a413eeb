using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.VhostUser;

/// <summary>
/// The back end's side of one vhost-user connection as a pure state machine: negotiated features, the memory table,
/// and each ring's state, with the protocol's ordering rules. The actor layer reads messages with
/// <see cref="VhostUserChannel"/>, hands each to <see cref="Handle"/>, sends the outcome's reply, and serves rings
/// when <see cref="IVhostUserRingControl"/> says so.
///
/// A refused message changes nothing: every check runs before any state does. Not thread-safe: one connection, one
/// caller, as the protocol is strictly request/reply.
/// </summary>
public sealed partial class VhostUserSession : IDisposable
{
    private readonly VhostUserDeviceOptions _options;
    private readonly IVhostUserRingControl _control;
    private readonly VhostUserVring[] _vrings;
    private VhostUserInflightRegion? _inflight;
    private bool _disposed;

    public VhostUserSession(VhostUserDeviceOptions options, IVhostUserRingControl control)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(control);
        options.Validate();
        _options = options;
        _control = control;
        _vrings = Enumerable.Range(0, options.QueueCount).Select(i => new VhostUserVring(i)).ToArray();
    }

    public ulong OfferedFeatures => _options.OfferedFeatures;

    /// <summary>SET_FEATURES' value; 0 until it arrives.</summary>
    public ulong AckedFeatures { get; private set; }

    public VhostUserProtocolFeatures OfferedProtocolFeatures => _options.ProtocolFeatures;

    /// <summary>SET_PROTOCOL_FEATURES' value; none until it arrives.</summary>
    public VhostUserProtocolFeatures ProtocolFeatures { get; private set; }

    public bool HasOwner { get; private set; }

    /// <summary>The current memory table; null before SET_MEM_TABLE and after a reset.</summary>
    public GuestMemory? Memory { get; private set; }

    public IReadOnlyList<VhostUserVring> Vrings => _vrings;

    /// <summary>The inflight region from GET_INFLIGHT_FD or SET_INFLIGHT_FD; null until one arrives and after a reset.</summary>
    public VhostUserInflightRegion? Inflight => _inflight;

    private bool FeaturesQueried { get; set; }

    private bool ProtocolFeaturesQueried { get; set; }

    private bool ProtocolFeaturesAcked => (AckedFeatures & VhostUserFeatures.ProtocolFeatures) != 0;

    /// <summary>
    /// Applies one message and says what to send back. Takes ownership of <paramref name="message"/>: descriptors the
    /// session keeps (kick, call, err) move into it, and the rest are closed before this returns, whatever happens.
    /// A refused message throws <see cref="VhostUserProtocolException"/> (disconnect), unless REPLY_ACK is negotiated
    /// and the front end set NEED_REPLY: then the outcome carries a failure status and the refusal.
    /// </summary>
    public VhostUserOutcome Handle(VhostUserMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        using (message)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Decided before the message is applied: a SET_PROTOCOL_FEATURES cannot ack itself into REPLY_ACK.
            bool ack = message.NeedsReply && Negotiated(VhostUserProtocolFeatures.ReplyAck) && !VhostUserCodec.HasReply(message.Request);
            try
            {
                if (message.Request == VhostUserRequest.GetInflightFd)
                {
                    return GetInflightFd(message.PayloadAs<VhostUserInflight>());
                }
                VhostUserPayload? reply = Dispatch(message);
                return new VhostUserOutcome(message.Request, ack ? new VhostUserU64(VhostUserOutcome.AckSuccess) : reply, null);
            }
            catch (VhostUserProtocolException refused) when (ack)
            {
                return new VhostUserOutcome(message.Request, new VhostUserU64(VhostUserOutcome.AckFailure), refused);
            }
        }
    }

    /// <summary>The connection is gone: stop every ring, unmap memory, close every descriptor.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        ResetState(clearOwner: true);
    }

    private VhostUserPayload? Dispatch(VhostUserMessage message)
    {
        switch (message.Request)
        {
            case VhostUserRequest.GetFeatures:
                FeaturesQueried = true;
                return new VhostUserU64(OfferedFeatures);
            case VhostUserRequest.SetFeatures:
                SetFeatures(message.PayloadAs<VhostUserU64>().Value);
                return null;
            case VhostUserRequest.SetOwner:
                if (HasOwner)
                {
                    throw Refuse(VhostUserViolation.OwnerAlreadySet, "SET_OWNER arrived twice on one connection");
                }
                HasOwner = true;
                return null;
            case VhostUserRequest.ResetOwner:
                ResetState(clearOwner: true);
                return null;
            case VhostUserRequest.ResetDevice:
                RequireNegotiated(message.Request, VhostUserProtocolFeatures.ResetDevice);
                ResetState(clearOwner: false);
                return null;
            case VhostUserRequest.GetProtocolFeatures:
                if (!FeaturesQueried)
                {
                    throw Refuse(VhostUserViolation.ProtocolFeaturesNotQueried, "GET_PROTOCOL_FEATURES before GET_FEATURES offered VHOST_USER_F_PROTOCOL_FEATURES");
                }
                ProtocolFeaturesQueried = true;
                return new VhostUserU64((ulong)OfferedProtocolFeatures);
            case VhostUserRequest.SetProtocolFeatures:
                SetProtocolFeatures(message.PayloadAs<VhostUserU64>().Value);
                return null;
            case VhostUserRequest.GetQueueNum:
                RequireNegotiated(message.Request, VhostUserProtocolFeatures.MultiQueue);
                return new VhostUserU64((ulong)_options.QueueCount);
            case VhostUserRequest.SetMemTable:
                SetMemoryTable(message);
                return null;
            case VhostUserRequest.SetVringNum:
                SetVringNum(message.PayloadAs<VhostUserVringState>());
                return null;
            case VhostUserRequest.SetVringBase:
                SetVringBase(message.PayloadAs<VhostUserVringState>());
                return null;
            case VhostUserRequest.SetVringAddr:
                SetVringAddress(message.PayloadAs<VhostUserVringAddress>());
                return null;
            case VhostUserRequest.GetVringBase:
                return GetVringBase(message.PayloadAs<VhostUserVringState>());
            case VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr:
                SetVringFile(message);
                return null;
            case VhostUserRequest.SetVringEnable:
                SetVringEnable(message.PayloadAs<VhostUserVringState>());
                return null;
            case VhostUserRequest.GetConfig:
                return GetConfig(message.PayloadAs<VhostUserConfig>());
            case VhostUserRequest.SetConfig:
                SetConfig(message.PayloadAs<VhostUserConfig>());
                return null;
            case VhostUserRequest.SetInflightFd:
                SetInflightFd(message);
                return null;
            default:
                throw Refuse(VhostUserViolation.UnsupportedRequest, $"{message.Request} is not implemented by this back end");
        }
    }

    private void SetFeatures(ulong features)
    {
        if (!FeaturesQueried)
        {
            throw Refuse(VhostUserViolation.FeaturesNotQueried, $"SET_FEATURES 0x{features:x} before GET_FEATURES");
        }
        ulong unoffered = features & ~OfferedFeatures;
        if (unoffered != 0)
        {
            throw Refuse(VhostUserViolation.FeaturesNotOffered, $"SET_FEATURES 0x{features:x} acks bits 0x{unoffered:x} that were not offered (offered 0x{OfferedFeatures:x})");
        }
        AckedFeatures = features;
        // Whether rings start enabled depends on VHOST_USER_F_PROTOCOL_FEATURES being negotiated.
        foreach (VhostUserVring ring in _vrings)
        {
            Sync(ring);
        }
    }

    private void SetProtocolFeatures(ulong features)
    {
        if (!ProtocolFeaturesQueried)
        {
            throw Refuse(VhostUserViolation.ProtocolFeaturesNotQueried, $"SET_PROTOCOL_FEATURES 0x{features:x} before GET_PROTOCOL_FEATURES");
        }
        ulong unoffered = features & ~(ulong)OfferedProtocolFeatures;
        if (unoffered != 0)
        {
            throw Refuse(
                VhostUserViolation.ProtocolFeaturesNotOffered,
                $"SET_PROTOCOL_FEATURES 0x{features:x} acks bits 0x{unoffered:x} that were not offered (offered 0x{(ulong)OfferedProtocolFeatures:x})");
        }
        ProtocolFeatures = (VhostUserProtocolFeatures)features;
    }

    private void SetMemoryTable(VhostUserMessage message)
    {
        RequireOwner(message.Request);
        var table = message.PayloadAs<VhostUserMemoryTable>();
        var fds = new FileDescriptor[message.FdCount];
        for (int i = 0; i < fds.Length; i++)
        {
            fds[i] = message.PeekFd(i);
        }
        GuestMemory memory = VhostUserMemoryMap.Map(table, fds);
        var layouts = new SplitQueueLayout?[_vrings.Length];
        try
        {
            // Configured rings keep their front-end addresses across a new table; each must still translate.
            for (int i = 0; i < _vrings.Length; i++)
            {
                if (_vrings[i] is { Address: { } address, Size: { } size })
                {
                    layouts[i] = VhostUserRingLayout.Resolve(memory, size, address);
                }
            }
        }
        catch
        {
            memory.Dispose();
            throw;
        }

        ReleaseMemory();
        Memory = memory;
        for (int i = 0; i < _vrings.Length; i++)
        {
            _vrings[i].Layout = layouts[i];
            Sync(_vrings[i]);
        }
    }

    private void RequireOwner(VhostUserRequest request)
    {
        if (!HasOwner)
        {
            throw Refuse(VhostUserViolation.NotOwner, $"{request} before SET_OWNER");
        }
    }

    private void RequireNegotiated(VhostUserRequest request, VhostUserProtocolFeatures feature)
    {
        if (!Negotiated(feature))
        {
            throw Refuse(VhostUserViolation.FeatureNotNegotiated, $"{request} needs protocol feature {feature}, which was not negotiated");
        }
    }

    /// <summary>
    /// Protocol features take effect at SET_PROTOCOL_FEATURES, not at SET_FEATURES: QEMU asks GET_QUEUE_NUM and sets up
    /// REPLY_ACK before it acks any virtio feature. SET_PROTOCOL_FEATURES itself is only accepted after GET_FEATURES
    /// offered VHOST_USER_F_PROTOCOL_FEATURES.
    /// </summary>
    private bool Negotiated(VhostUserProtocolFeatures feature) => (ProtocolFeatures & feature) == feature;

    /// <summary>Stops every ring, warns the control, and unmaps the memory table.</summary>
    private void ReleaseMemory()
    {
        foreach (VhostUserVring ring in _vrings)
        {
            Stop(ring);
        }
        if (Memory is not null)
        {
            _control.MemoryChanging();
            Memory.Dispose();
            Memory = null;
        }
    }

    /// <summary>
    /// RESET_OWNER, RESET_DEVICE and disconnect: rings, memory and acked features go; the protocol features stay,
    /// as a front end never renegotiates them on one connection.
    /// </summary>
    private void ResetState(bool clearOwner)
    {
        ReleaseMemory();
        // Every ring is stopped, so nothing writes the region any more; the front end keeps its own mapping.
        _inflight?.Dispose();
        _inflight = null;
        foreach (VhostUserVring ring in _vrings)
        {
            ring.Reset();
        }
        AckedFeatures = 0;
        if (clearOwner)
        {
            HasOwner = false;
        }
    }

    private static VhostUserProtocolException Refuse(VhostUserViolation violation, string message) => new(violation, message);
}
