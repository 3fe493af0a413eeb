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

    /// <summary>Runs on the queue's actor: every chain is answered at once, so a drain never waits on a source.</summary>
    private sealed class RequestHandler(ShoutDevice device) : IQueueHandler
    {
        public FileDescriptor? Source => null;

        public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
        {
            for (int i = 0; i < budget; i++)
            {
                if (!queue.TryPop(chain))
                {
                    return DrainResult.RingEmpty;
                }
                queue.AddUsed(chain.HeadIndex, Answer(queue.Memory, chain));
            }
            return DrainResult.BudgetSpent;
        }

        public void Dispose()
        {
        }

        /// <summary>
        /// Copies the readable bytes into the writable buffers in order; what does not fit is dropped, and the
        /// returned length says how much the guest may read.
        /// </summary>
        private uint Answer(GuestMemory memory, DescriptorChain chain)
        {
            byte[] message = new byte[checked((int)Math.Min(chain.ReadableBytes, chain.WritableBytes))];
            int read = 0;
            foreach (ChainBuffer source in chain.Readable)
            {
                int take = Math.Min(message.Length - read, (int)source.Length);
                memory.Read(source.Address, message.AsSpan(read, take));
                read += take;
            }
            if (Volatile.Read(ref device._uppercase))
            {
                for (int i = 0; i < message.Length; i++)
                {
                    message[i] = message[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(message[i] - 32) : message[i];
                }
            }
            int written = 0;
            foreach (ChainBuffer target in chain.Writable)
            {
                int put = Math.Min(message.Length - written, (int)target.Length);
                memory.Write(target.Address, message.AsSpan(written, put));
                written += put;
            }
            return (uint)written;
        }
    }
}
