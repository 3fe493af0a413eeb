using Lguest.Actors.Queues;
using Lguest.Native.Memory;

namespace Lguest.Actors.Devices;

/// <summary>Messages between a transport (the guest actor for lguest, a connection actor for vhost-user) and a device actor.</summary>
public static class DeviceProtocol
{
    /// <summary>The driver set DRIVER_OK (or kicked early): serve these queues with these features.</summary>
    public sealed record Activate(GuestMemory Memory, ulong Features, IReadOnlyList<QueueWiring> Queues);

    /// <summary>Reply to <see cref="Activate"/>, once every queue actor is running.</summary>
    public sealed record Activated(string Device);

    /// <summary>The driver wrote status 0 (or FAILED while running): stop every queue and forget its state.</summary>
    public sealed record Reset;

    /// <summary>Reply to <see cref="Reset"/>, sent after every queue thread has stopped.</summary>
    public sealed record WasReset(string Device);

    /// <summary>
    /// Told to the transport when supervision reset the device after a guest error: it should set
    /// DEVICE_NEEDS_RESET and, where it can, raise a configuration interrupt.
    /// </summary>
    public sealed record NeedsReset(string Device, string Reason);
}
