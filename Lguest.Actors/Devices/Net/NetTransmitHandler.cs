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

    public FileDescriptor? Source => null;

    public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
    {
        for (int done = 0; done < budget; done++)
        {
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            ChainRules.RequireNoWritable(chain, "net", "transmit");
            if (chain.ReadableBytes < (ulong)_headerSize)
            {
                _counters.Drop();
            }
            else
            {
                Send(queue, chain);
            }
            queue.AddUsed(chain.HeadIndex, 0);
        }
        return DrainResult.BudgetSpent;
    }

    public void Dispose()
    {
    }

    private void Send(SplitQueue queue, DescriptorChain chain)
    {
        int count = ChainRules.RequireTranslated(chain.GetReadableIoVectors(queue.Memory, _vectors), chain, "net");
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
        _counters.Written((long)chain.ReadableBytes);
    }
}
