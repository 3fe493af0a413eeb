using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Support;

/// <summary>
/// A device for runtime specs: every chain is completed with its readable length, except a chain whose first byte
/// is 'H', which makes the host side fail (as a dead disk would).
/// </summary>
internal sealed class EchoDevice : VirtioDevice
{
    public const byte HostFailureMarker = (byte)'H';

    private int _activations;
    private int _resets;
    private long _chains;

    public EchoDevice(string name, int queues)
    {
        Name = name;
        Queues = Enumerable.Range(0, queues)
            .Select(i => new QueueDefinition($"q{i}", 8, () => new EchoHandler(this)))
            .ToList();
    }

    public override byte DeviceType => 42;

    public override string Name { get; }

    public override ulong OfferedFeatures => 1UL << 28; // INDIRECT_DESC

    public override IReadOnlyList<QueueDefinition> Queues { get; }

    public override ReadOnlyMemory<byte> Config => new byte[] { 1, 2, 3, 4 };

    public int Activations => Volatile.Read(ref _activations);

    public int Resets => Volatile.Read(ref _resets);

    public long Chains => Interlocked.Read(ref _chains);

    /// <summary>The /proc directory of the thread that last drained a queue (BlockedThread watches it go idle).</summary>
    public string? DrainThread { get; private set; }

    public bool Disposed { get; private set; }

    public override void Activate(GuestMemory memory, ulong features) => Interlocked.Increment(ref _activations);

    public override void Reset() => Interlocked.Increment(ref _resets);

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }

    private sealed class EchoHandler(EchoDevice device) : IQueueHandler
    {
        public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
        {
            device.DrainThread = Native.Tests.Interop.BlockedThread.Current();
            uint length = (uint)readable.Remaining;
            if (readable.TryReadObject(out byte first) && first == HostFailureMarker)
            {
                throw new HostDeviceException($"{device.Name} backing store failed");
            }
            Interlocked.Increment(ref device._chains);
            return HandlerOutcome.UsedWithLength(length);
        }

        public void Dispose()
        {
        }
    }
}
