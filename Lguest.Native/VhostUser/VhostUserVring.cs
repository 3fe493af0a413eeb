using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Native.VhostUser;

/// <summary>
/// One ring's vhost-user state as the front end has set it. A ring is started by SET_VRING_KICK and stopped by
/// GET_VRING_BASE; it is served (<see cref="Running"/>) while it is started, enabled, and has memory and an address.
/// The descriptors are owned here and closed when replaced or when the ring is reset.
/// </summary>
public sealed class VhostUserVring
{
    internal VhostUserVring(int index) => Index = index;

    public int Index { get; }

    /// <summary>SET_VRING_NUM's size; null until it arrives.</summary>
    public ushort? Size { get; internal set; }

    /// <summary>SET_VRING_ADDR as sent; null until it arrives, and again after a new size.</summary>
    public VhostUserVringAddress? Address { get; internal set; }

    /// <summary>The address translated against the current memory table.</summary>
    public SplitQueueLayout? Layout { get; internal set; }

    /// <summary>The next available index to read: SET_VRING_BASE's value, or where the ring stopped.</summary>
    public ushort Base { get; internal set; }

    public FileDescriptor? Kick { get; internal set; }

    public FileDescriptor? Call { get; internal set; }

    public FileDescriptor? Err { get; internal set; }

    /// <summary>A kick (descriptor or polling) arrived since the last GET_VRING_BASE.</summary>
    public bool Started { get; internal set; }

    /// <summary>SET_VRING_ENABLE's last value; null when never sent.</summary>
    public bool? EnabledByFrontEnd { get; internal set; }

    /// <summary>True while the ring control has been told to serve this ring.</summary>
    public bool Running { get; internal set; }

    /// <summary>
    /// Enabled: SET_VRING_ENABLE's value, or, before any, disabled when VHOST_USER_F_PROTOCOL_FEATURES was negotiated
    /// (the front end then enables rings explicitly) and enabled otherwise.
    /// </summary>
    internal bool IsEnabled(bool protocolFeaturesNegotiated) => EnabledByFrontEnd ?? !protocolFeaturesNegotiated;

    /// <summary>Back to the state of a new connection, closing every descriptor.</summary>
    internal void Reset()
    {
        Kick?.Dispose();
        Call?.Dispose();
        Err?.Dispose();
        Kick = Call = Err = null;
        Size = null;
        Address = null;
        Layout = null;
        Base = 0;
        Started = false;
        EnabledByFrontEnd = null;
        Running = false;
    }
}
