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
    /// <summary>Why here and not in an actor: a message per frame would cost more than the frame's copy.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoWritable(writable, "net", "transmit");
        port.Switch.Forward(port, new ChainFrame(readable, headerSize));
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
    }
}
