namespace Lguest.Actors.Transports.LguestBus;

/// <summary>Where a NOTIFY address leads.</summary>
internal abstract record NotifyTarget
{
    private NotifyTarget()
    {
    }

    /// <summary>The guest changed device <paramref name="Device"/>'s status byte.</summary>
    public sealed record StatusChange(int Device) : NotifyTarget;

    /// <summary>The guest kicked a queue that has no eventfd yet: the device is not started.</summary>
    public sealed record QueueKick(int Device, int Queue) : NotifyTarget;

    /// <summary>An early-console write: a NUL-terminated string at <paramref name="Address"/>.</summary>
    public sealed record EarlyConsole(ulong Address) : NotifyTarget;

    /// <summary>An address outside the guest: the guest is confused or hostile.</summary>
    public sealed record Invalid(ulong Address) : NotifyTarget;
}

/// <summary>
/// The seed's handle_output as a pure function. A device descriptor's address means a status change; a queue's
/// ring address means a kick before the device was started (Linux probes partitions before DRIVER_OK); anything
/// else inside the guest is an early-console string; anything outside is an error.
/// </summary>
internal sealed class NotifyRouter
{
    private readonly Dictionary<ulong, NotifyTarget> _known = [];
    private readonly ulong _guestLimit;

    /// <param name="devices">Per device in bus order: its descriptor address and its queues' ring addresses.</param>
    /// <param name="guestLimit">The first address past guest memory and device pages.</param>
    public NotifyRouter(IEnumerable<(ulong Descriptor, IReadOnlyList<ulong> Queues)> devices, ulong guestLimit)
    {
        int device = 0;
        foreach ((ulong descriptor, IReadOnlyList<ulong> queues) in devices)
        {
            _known[descriptor] = new NotifyTarget.StatusChange(device);
            for (int queue = 0; queue < queues.Count; queue++)
            {
                _known[queues[queue]] = new NotifyTarget.QueueKick(device, queue);
            }
            device++;
        }
        _guestLimit = guestLimit;
    }

    public NotifyTarget Route(ulong address)
    {
        if (_known.TryGetValue(address, out NotifyTarget? target))
        {
            return target;
        }
        return address < _guestLimit ? new NotifyTarget.EarlyConsole(address) : new NotifyTarget.Invalid(address);
    }
}
