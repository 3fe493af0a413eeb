using Akka.Event;
using Lguest.Actors.Queues;
using Lguest.Native.Memory;

namespace Lguest.Actors.Devices;

/// <summary>
/// A queue a device asks the bus for: its size, the handler that serves it (null: unserviced), and how long its
/// thread may poll the ring before sleeping (zero: never; see adaptive polling in reference.conf).
/// </summary>
public sealed record QueueDefinition(string Name, ushort Size, Func<IQueueHandler>? CreateHandler, TimeSpan PollMax = default);

/// <summary>
/// A virtio device as the guest sees it, independent of how it is attached (lguest device page, vhost-user socket):
/// an id, features, config bytes and queues. It sees guest memory and its queues, never the transport.
/// Host resources (files, taps, stdin) are opened by the constructor of a concrete device, so a missing file fails
/// before the guest starts, and released by <see cref="Dispose"/>.
/// </summary>
public abstract class VirtioDevice : IDisposable
{
    /// <summary>The virtio device id (net 1, block 2, console 3, rng 4).</summary>
    public abstract byte DeviceType { get; }

    /// <summary>"console", "block", ...: the name in logs, errors and metrics.</summary>
    public abstract string Name { get; }

    /// <summary>Feature bits offered to the driver, including ring features (INDIRECT_DESC, EVENT_IDX).</summary>
    public abstract ulong OfferedFeatures { get; }

    public abstract IReadOnlyList<QueueDefinition> Queues { get; }

    /// <summary>The device-specific configuration space, little-endian.</summary>
    public virtual ReadOnlyMemory<byte> Config => ReadOnlyMemory<byte>.Empty;

    /// <summary>The driver accepted <paramref name="features"/> and set DRIVER_OK: the device is about to serve.</summary>
    public virtual void Activate(GuestMemory memory, ulong features)
    {
    }

    /// <summary>The driver reset the device (or supervision did): forget per-session state, keep host resources.</summary>
    public virtual void Reset()
    {
    }

    /// <summary>
    /// The device actor serving this device hands over its own logger, so what the device logs while served (a
    /// failed flush, stdin ending) names that actor's path as its source, not the actor system. Lines written while
    /// the device is made use the logger it was made with.
    /// </summary>
    public virtual void LogThrough(ILoggingAdapter log)
    {
    }

    /// <summary>One line per device for --verbose, as the seed prints at start ("device 2: virtblock 2048 sectors").</summary>
    public virtual string Describe() => Name;

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
