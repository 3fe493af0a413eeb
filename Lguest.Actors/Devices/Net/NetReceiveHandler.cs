using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Net;

/// <summary>
/// Frames from the tap to the guest. Handling network input is a bit trickier than output, because we must not lose
/// a frame: we read one frame at a time into our own buffer, and if the guest has no buffer for it we keep it (just
/// that one; the rest wait in the kernel) until the guest refills the ring and kicks us. A frame bigger than the
/// buffer the guest gave is dropped and counted, never written past the buffer.
/// </summary>
internal sealed class NetReceiveHandler : IQueueHandler
{
    private const int NoFrame = -1;

    private readonly FileDescriptor _tap;
    private readonly DeviceCounters _counters;
    private readonly int _headerSize;
    private readonly byte[] _frame = new byte[NetProtocol.MaxFrame];
    private int _pending = NoFrame;

    public NetReceiveHandler(FileDescriptor tap, DeviceCounters counters, int headerSize = NetProtocol.LegacyHeaderSize)
    {
        _tap = tap;
        _counters = counters;
        _headerSize = headerSize;
    }

    public FileDescriptor? Source => _tap;

    /// <summary>Whether a frame is waiting for a guest buffer.</summary>
    public bool HasPendingFrame => _pending != NoFrame;

    /// <summary>
    /// Why: a chain is taken only with a frame in hand, so with the tap empty the guest's buffers stay in the ring.
    /// A runt read from the tap is dropped here and costs a step of the batch, not a chain.
    /// </summary>
    public SourceState CheckSource()
    {
        if (_pending != NoFrame)
        {
            return SourceState.Ready;
        }
        if (!TryReceive())
        {
            return SourceState.Empty;
        }
        return _pending == NoFrame ? SourceState.Discarded : SourceState.Ready;
    }

    /// <summary>Why: the pending frame goes into the chain whole, or is dropped with a used length of 0 if it does not fit.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoReadable(readable, "net", "receive");
        if (writable.BufferCount == 0)
        {
            throw new GuestRequestException($"net: receive chain {writable.HeadIndex} has no buffer to fill");
        }

        int length = _pending;
        _pending = NoFrame;
        if ((ulong)length > writable.Available)
        {
            // The guest reads a used length shorter than a header as a receive error and recycles the buffer.
            _counters.Drop();
            return HandlerOutcome.Used;
        }
        writable.Write(_frame.AsSpan(0, length));
        _counters.Request();
        _counters.Read(length);
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
    }

    /// <summary>Reads the next frame into <see cref="_frame"/>; false when the tap has none.</summary>
    private bool TryReceive()
    {
        long read;
        try
        {
            read = NonBlockingIo.TryRead(_tap, _frame);
        }
        catch (SystemCallException e)
        {
            throw new HostDeviceException($"net: reading the tap failed: {Errno.Describe(e.Errno)}", e);
        }
        if (read == NonBlockingIo.WouldBlock)
        {
            return false;
        }
        if (read < _headerSize)
        {
            _counters.Drop();
            return true;
        }
        _pending = (int)read;
        return true;
    }
}
