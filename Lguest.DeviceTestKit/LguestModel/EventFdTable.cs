using Lguest.Native.Interop;

namespace Lguest.DeviceTestKit.LguestModel;

/// <summary>
/// The kernel's notify-address-to-eventfd map (lg_eventfd_map), with its rules: entries are only ever appended (the
/// kernel copies the array one larger and never removes or replaces an entry), a kick goes to the FIRST entry whose
/// address matches, and address 0 is refused because 0 means "no notify pending". The kernel takes its own reference
/// on each eventfd, so the table holds duplicates and the launcher may close its own copy.
///
/// The kernel's only bound is memory (kmalloc failing gives ENOMEM). The model makes it a fixed
/// <see cref="Limit"/>, by default one entry per queue the bus can carry, so a launcher that attaches again on every
/// device reset runs out instead of silently sending kicks to a stale eventfd. Thread-safe.
/// </summary>
public sealed class EventFdTable : IDisposable
{
    /// <summary>One eventfd per possible queue: 31 interrupt lines, one queue each.</summary>
    public const int DefaultLimit = Native.Lguest.LguestAbi.MaxVirtqueues;

    private readonly object _lock = new();
    private readonly List<(ulong Address, EventFd Event)> _entries = [];
    private bool _disposed;

    public EventFdTable(int limit = DefaultLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
    }

    public int Limit { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Appends <paramref name="address"/> → a duplicate of <paramref name="eventFd"/>; 0 or -errno as the kernel answers.</summary>
    public int Add(ulong address, FileDescriptor eventFd)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        if (address == 0)
        {
            return -Errno.EINVAL;
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.Count >= Limit)
            {
                return -Errno.ENOMEM;
            }
            _entries.Add((address, EventFd.Adopt(eventFd.Duplicate())));
            return 0;
        }
    }

    /// <summary>send_notify_to_eventfd: signals the first match and says whether there was one.</summary>
    public bool TrySignal(ulong address)
    {
        EventFd? match = null;
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }
            foreach ((ulong entry, EventFd eventFd) in _entries)
            {
                if (entry == address)
                {
                    match = eventFd;
                    break;
                }
            }
        }
        try
        {
            match?.Signal();
        }
        catch (ObjectDisposedException)
        {
            // The device was closed under the guest: the kick goes nowhere, as it would in the kernel.
        }
        return match is not null;
    }

    /// <summary>What close() of /dev/lguest does: drop every reference the table took.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach ((_, EventFd eventFd) in _entries)
            {
                eventFd.Dispose();
            }
            _entries.Clear();
        }
    }
}
