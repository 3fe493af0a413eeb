using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// A port's guest receives: frames other ports queued for it are copied into its receive buffers on this queue's
/// own thread, which sleeps on the queue's doorbell when there is nothing to deliver and on the guest's kick when
/// there is nowhere to put it. A frame waits in the port's queue, never in a popped chain, so a guest that stops
/// refilling costs only its own queue's slots.
/// </summary>
internal sealed class SwitchReceiveHandler(SwitchPort port, int headerSize, ulong features) : IQueueHandler
{
    private const byte NeedsChecksum = 1;
    private const byte GsoNone = 0;
    private const byte GsoTcpV4 = 1;
    private const byte GsoUdp = 3;
    private const byte GsoTcpV6 = 4;
    private const byte GsoEcn = 0x80;

    /// <summary>struct virtio_net_hdr without num_buffers.</summary>
    private const int BaseHeader = NetProtocol.LegacyHeaderSize;

    public Native.Interop.FileDescriptor? Source => port.Inbound.Doorbell;

    /// <summary>
    /// Why frames are looked at before a chain is popped: a frame this guest cannot take (an offload it did not
    /// negotiate) is dropped without using one of its buffers, and with nothing queued the chain stays in the ring.
    /// </summary>
    public SourceState CheckSource()
    {
        FrameQueue inbound = port.Inbound;
        if (!inbound.TryPeekOrArmDoorbell(out FrameSlot slot))
        {
            return SourceState.Empty;
        }
        if (!Acceptable(slot))
        {
            port.Counters.Drop(SwitchDropReason.Offload);
            inbound.Release(slot);
            return SourceState.Discarded;
        }
        return SourceState.Ready;
    }

    /// <summary>The second and last copy: our queue into the guest's buffer, the header rewritten in this guest's size.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoReadable(readable, "net", "receive");
        if (writable.BufferCount == 0)
        {
            throw new GuestRequestException($"net: receive chain {writable.HeadIndex} has no buffer to fill");
        }
        FrameQueue inbound = port.Inbound;
        if (!inbound.TryPeek(out FrameSlot slot))
        {
            throw new InvalidOperationException("a switch port's receive chain was popped with no frame queued");
        }
        Deliver(ref writable, slot);
        inbound.Release(slot);
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
    }

    /// <summary>The sender's header says what the frame still needs done; this guest must have agreed to do it.</summary>
    private bool Acceptable(FrameSlot slot)
    {
        byte flags = slot.Buffer[0];
        byte gso = slot.Buffer[1];
        if ((flags & NeedsChecksum) != 0 && !Has(NetProtocol.FeatureGuestCsum))
        {
            return false;
        }
        if ((gso & GsoEcn) != 0 && !Has(NetProtocol.FeatureGuestEcn))
        {
            return false;
        }
        return (gso & ~GsoEcn) switch
        {
            GsoNone => true,
            GsoTcpV4 => Has(NetProtocol.FeatureGuestTso4),
            GsoTcpV6 => Has(NetProtocol.FeatureGuestTso6),
            GsoUdp => false, // UFO is never offered
            _ => false,
        };
    }

    private bool Has(int feature) => (features & (1UL << feature)) != 0;

    private void Deliver(ref ChainWriter writable, FrameSlot slot)
    {
        int frameBytes = slot.Length - slot.HeaderSize;
        if ((ulong)(headerSize + frameBytes) > writable.Available)
        {
            // The guest reads a used length shorter than a header as a receive error and recycles the buffer.
            port.Counters.Drop(SwitchDropReason.BufferTooSmall);
            return;
        }
        Span<byte> header = stackalloc byte[NetProtocol.ModernHeaderSize];
        slot.Buffer.AsSpan(0, BaseHeader).CopyTo(header);
        header[BaseHeader] = 1; // num_buffers: without MRG_RXBUF every frame is one buffer
        header[BaseHeader + 1] = 0;
        writable.Write(header[..headerSize]);
        writable.Write(slot.Buffer.AsSpan(slot.HeaderSize, frameBytes));
        port.Counters.Delivered(frameBytes);
    }
}
