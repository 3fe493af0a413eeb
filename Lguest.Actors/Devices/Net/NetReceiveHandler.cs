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

    public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
    {
        for (int done = 0; done < budget; done++)
        {
            if (_pending == NoFrame && !TryReceive())
            {
                return DrainResult.SourceEmpty;
            }
            if (_pending == NoFrame)
            {
                continue; // a runt, dropped
            }
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            ChainRules.RequireNoReadable(chain, "net", "receive");
            if (chain.WritableCount == 0)
            {
                throw new GuestRequestException($"net: receive chain {chain.HeadIndex} has no buffer to fill");
            }

            int length = _pending;
            _pending = NoFrame;
            if ((ulong)length > chain.WritableBytes)
            {
                // The guest reads a used length shorter than a header as a receive error and recycles the buffer.
                queue.AddUsed(chain.HeadIndex, 0);
                _counters.Drop();
                continue;
            }
            chain.CopyToWritable(queue.Memory, 0, _frame.AsSpan(0, length));
            queue.AddUsed(chain.HeadIndex, (uint)length);
            _counters.Request();
            _counters.Read(length);
        }
        return DrainResult.BudgetSpent;
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
