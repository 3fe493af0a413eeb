namespace Lguest.Actors.Supervision;

/// <summary>
/// The guest broke the rules in a way the device cannot answer on the ring (a request with no status byte, output
/// buffers on an input queue). Supervision applies the configured guest-error policy; the host is unharmed.
/// Requests that can be answered (an out-of-range sector, an unknown type) are answered, counted, and never thrown.
/// </summary>
public sealed class GuestRequestException : Exception
{
    public GuestRequestException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Something on the host failed that the device cannot answer (the tap vanished, stdout is closed, the disk file
/// cannot be read): the seed killed the launcher for these, and so do we.
/// </summary>
public sealed class HostDeviceException : Exception
{
    public HostDeviceException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// A failure inside a queue's actor, labelled with where it happened so supervisors above the device can name it
/// in the one line the launcher prints.
/// </summary>
public sealed class DeviceFaultException : Exception
{
    public DeviceFaultException(string device, string queue, Exception cause)
        : base($"{device}: {cause.Message}", cause)
    {
        Device = device;
        Queue = queue;
    }

    public string Device { get; }

    public string Queue { get; }

    /// <summary>True when the guest caused it (a ring violation or malformed request), false for a host failure.</summary>
    public bool IsGuestFault => InnerException is GuestRequestException or Lguest.Native.Virtio.VirtqueueException or Lguest.Native.Memory.GuestMemoryFaultException;
}
