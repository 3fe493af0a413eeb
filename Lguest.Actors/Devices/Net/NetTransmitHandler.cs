using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Net;

/// <summary>
/// Frames from the guest to the tap. Simple: the tap expects the exact same format, header and all (what a
/// coincidence!), so the chain's buffers go out in one writev straight from guest memory. Like a real network, a
/// frame the host will not take is dropped and counted; a tap that has gone away is fatal.
/// </summary>
internal sealed class NetTransmitHandler : IQueueHandler
{
    /// <summary>ENOBUFS: the host's queue for the interface is full.</summary>
    private const int NoBufferSpace = 105;

    private readonly FileDescriptor _tap;
    private readonly DeviceCounters _counters;
    private readonly int _headerSize;
    private readonly IoVector[] _vectors = ChainRules.NewIoVectors();

    public NetTransmitHandler(FileDescriptor tap, DeviceCounters counters, int headerSize = NetProtocol.LegacyHeaderSize)
    {
        _tap = tap;
        _counters = counters;
        _headerSize = headerSize;
    }

    /// <summary>Why: one frame per chain, header and all, in one writev; a frame too short for its header is dropped.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoWritable(writable, "net", "transmit");
        if (readable.Remaining < (ulong)_headerSize)
        {
            _counters.Drop();
        }
        else
        {
            Send(ref readable);
        }
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
    }

    private void Send(ref ChainReader frame)
    {
        ulong length = frame.Remaining;
        int count = ChainRules.RequireTranslated(frame.ConsumeIoVectors(_vectors), frame.HeadIndex, "net");
        try
        {
            ScatterGatherIo.WriteV(_tap, _vectors.AsSpan(0, count));
        }
        catch (SystemCallException e) when (e.Errno is Errno.EAGAIN or Errno.EINVAL or Errno.EMSGSIZE or NoBufferSpace)
        {
            // Full, or a frame (a bad GSO header, a size) the host refuses: what a wire does with it.
            _counters.Drop();
            return;
        }
        catch (SystemCallException e)
        {
            throw new HostDeviceException($"net: writing to the tap failed: {Errno.Describe(e.Errno)}", e);
        }
        _counters.Request();
        _counters.Written((long)length);
    }
}
