using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Rng;

/// <summary>
/// Fills each chain's writable buffers from the entropy source, up to the per-request cap. Short reads actually
/// happen quite a bit with /dev/random, so we loop until the request is full; a source that ends or fails is the
/// host's problem and takes the launcher down, as it did in the seed. Entropy is always there, so there is no host
/// source to wait on: only the guest's buffers are ever missing.
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

    /// <summary>Why: each request gets as much entropy as it has room for, up to the cap; the bytes filled are the used length.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoReadable(readable, "rng", "requests");
        int count = ChainRules.RequireTranslated(writable.GetIoVectors(_vectors, _cap), writable.HeadIndex, "rng");
        long filled = Fill(_vectors.AsSpan(0, count));
        writable.MarkWritten((ulong)filled);
        _counters.Request();
        _counters.Read(filled);
        return HandlerOutcome.Used;
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
