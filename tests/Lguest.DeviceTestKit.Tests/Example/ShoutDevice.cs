using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.DeviceTestKit.Tests.Example;

/// <summary>
/// The guide's example device (docs/testkit.md), "shout": one queue; each request is a chain whose device-readable
/// part is a message and whose device-writable part receives it back, upper-cased when the driver accepted
/// <see cref="FeatureUppercase"/>. The used length is the bytes written, as virtio requires (2.7.8).
/// </summary>
internal sealed class ShoutDevice : VirtioDevice
{
    /// <summary>A device type no standard virtio device uses, so no real driver binds it.</summary>
    public const byte Type = 0x2a;

    /// <summary>Device feature bit 0: answer in upper case.</summary>
    public const int FeatureUppercase = 0;

    private bool _uppercase;

    public ShoutDevice() => Queues = [new QueueDefinition("requests", 16, () => new RequestHandler(this))];

    public override byte DeviceType => Type;

    public override string Name => "shout";

    public override ulong OfferedFeatures => 1UL << FeatureUppercase;

    public override IReadOnlyList<QueueDefinition> Queues { get; }

    /// <summary>Features are final once the driver sets DRIVER_OK: read them then, not per request.</summary>
    public override void Activate(GuestMemory memory, ulong features) =>
        Volatile.Write(ref _uppercase, (features & (1UL << FeatureUppercase)) != 0);

    public override void Reset() => Volatile.Write(ref _uppercase, false);

    /// <summary>Runs on the queue's actor: every chain is answered at once, so it needs no host source.</summary>
    private sealed class RequestHandler(ShoutDevice device) : IQueueHandler
    {
        /// <summary>
        /// Copies the readable bytes into the writable buffers in order; what does not fit is dropped. The bytes
        /// written are the used length, which tells the guest how much it may read.
        /// </summary>
        public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
        {
            Span<byte> chunk = stackalloc byte[64];
            bool uppercase = Volatile.Read(ref device._uppercase);
            while (writable.Available > 0)
            {
                int read = readable.Read(chunk[..(int)Math.Min((ulong)chunk.Length, writable.Available)]);
                if (read == 0)
                {
                    break;
                }
                if (uppercase)
                {
                    for (int i = 0; i < read; i++)
                    {
                        chunk[i] = chunk[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(chunk[i] - 32) : chunk[i];
                    }
                }
                writable.Write(chunk[..read]);
            }
            return HandlerOutcome.Used;
        }

        public void Dispose()
        {
        }
    }
}
