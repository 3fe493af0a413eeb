using Lguest.Actors.Queues;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// A port's guest sends: each chain is one frame, switched on this queue's own thread straight from the guest's
/// memory into the queues of the ports it goes to, then handed back. Like a wire, the switch never makes the sender
/// wait: a frame nobody can take now is dropped and counted, and the ring keeps moving.
/// </summary>
internal sealed class SwitchTransmitHandler(SwitchPort port, int headerSize) : IQueueHandler
{
    public Native.Interop.FileDescriptor? Source => null;

    /// <summary>Why here and not in an actor: a message per frame would cost more than the frame's copy.</summary>
    public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
    {
        for (int done = 0; done < budget; done++)
        {
            // chainio: pop + shape check + the frame read (ChainFrame over CopyFromReadable) happen here.
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            ChainRules.RequireNoWritable(chain, "net", "transmit");
            port.Switch.Forward(port, new ChainFrame(queue.Memory, chain, headerSize));
            queue.AddUsed(chain.HeadIndex, 0);
        }
        return DrainResult.BudgetSpent;
    }

    public void Dispose()
    {
    }
}
