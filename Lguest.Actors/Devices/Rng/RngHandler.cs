using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Rng;

/// <summary>
/// Fills each chain's writable buffers from the entropy source, up to the per-request cap. Short reads actually
/// happen quite a bit with /dev/random, so we loop until the request is full; a source that ends or fails is the
/// host's problem and takes the launcher down, as it did in the seed.
/// </summary>
internal sealed class RngHandler : IQueueHandler
{
    private readonly FileDescriptor _source;
    private readonly string _sourcePath;
    private readonly ulong _cap;
    private readonly DeviceCounters _counters;
    private readonly IoVector[] _vectors = ChainRules.NewIoVectors();

    public RngHandler(FileDescriptor source, string sourcePath, int maxBytesPerRequest, DeviceCounters counters)
    {
        _source = source;
        _sourcePath = sourcePath;
        _cap = (ulong)maxBytesPerRequest;
        _counters = counters;
    }

    /// <summary>Entropy is always there; only the guest's buffers are ever missing.</summary>
    public FileDescriptor? Source => null;

    public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
    {
        for (int done = 0; done < budget; done++)
        {
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            ChainRules.RequireNoReadable(chain, "rng", "requests");
            ulong wanted = Math.Min(chain.WritableBytes, _cap);
            int count = ChainRules.RequireTranslated(chain.GetWritableIoVectors(queue.Memory, _vectors, 0, wanted), chain, "rng");
            uint filled = (uint)Fill(_vectors.AsSpan(0, count));
            queue.AddUsed(chain.HeadIndex, filled);
            _counters.Request();
            _counters.Read(filled);
        }
        return DrainResult.BudgetSpent;
    }

    public void Dispose()
    {
    }

    private long Fill(Span<IoVector> vectors)
    {
        long total = 0;
        Span<IoVector> rest = IoVectors.Consume(vectors, 0);
        while (!rest.IsEmpty)
        {
            long read;
            try
            {
                read = ScatterGatherIo.ReadV(_source, rest);
            }
            catch (SystemCallException e)
            {
                throw new HostDeviceException($"rng: reading {_sourcePath} failed: {Errno.Describe(e.Errno)}", e);
            }
            if (read == 0)
            {
                throw new HostDeviceException($"rng: {_sourcePath} ran dry (end of file)");
            }
            rest = IoVectors.Consume(rest, (ulong)read);
            total += read;
        }
        return total;
    }
}
