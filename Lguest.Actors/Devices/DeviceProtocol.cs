using Lguest.Actors.Queues;
using Lguest.Native.Memory;

namespace Lguest.Actors.Devices;

/// <summary>Messages between a transport (the guest actor for lguest, a connection actor for vhost-user) and a device actor.</summary>
public static class DeviceProtocol
{
    /// <summary>The driver set DRIVER_OK (or kicked early): serve these queues with these features.</summary>
    public sealed record Activate(GuestMemory Memory, ulong Features, IReadOnlyList<QueueWiring> Queues);

    /// <summary>
    /// Reply to <see cref="Activate"/>, once the device model is activated and an actor has been created for every
    /// queue it serves. Those actors start on their own threads after this reply: a queue that fails to start
    /// reports through supervision, not here.
    /// </summary>
    public sealed record Activated(string Device);

    /// <summary>The driver wrote status 0 (or FAILED while running): stop every queue and forget its state.</summary>
    public sealed record Reset;

    /// <summary>Reply to <see cref="Reset"/>, sent after every queue thread has stopped.</summary>
    public sealed record WasReset(string Device);

    /// <summary>Serve one more queue (vhost-user starts rings one at a time); the first also activates the device.</summary>
    public sealed record StartQueue(GuestMemory Memory, ulong Features, QueueWiring Queue);

    /// <summary>Reply to <see cref="StartQueue"/>.</summary>
    public sealed record QueueStarted(int Index);

    /// <summary>Stop serving one queue (vhost-user's GET_VRING_BASE).</summary>
    public sealed record StopQueue(int Index);

    /// <summary>
    /// Reply to <see cref="StopQueue"/>, once the queue's thread has stopped: the next available index it would have
    /// served (null when the queue was not running or had no <see cref="RingPosition"/>).
    /// </summary>
    public sealed record QueueStopped(int Index, ushort? NextAvailable);

    /// <summary>
    /// Told to the transport when supervision reset the device after a guest error: it should set
    /// DEVICE_NEEDS_RESET and, where it can, raise a configuration interrupt.
    /// </summary>
    public sealed record NeedsReset(string Device, string Reason);
}
