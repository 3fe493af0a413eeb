using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Console;

/// <summary>
/// The guest to stdout, straight from guest memory. writev can take only part of what it is offered, so we loop
/// until every byte is out; a terminal that cannot be written is a host failure.
/// </summary>
internal sealed class ConsoleOutputHandler : IQueueHandler
{
    private readonly FileDescriptor _output;
    private readonly DeviceCounters _counters;
    private readonly IoVector[] _vectors = ChainRules.NewIoVectors();

    public ConsoleOutputHandler(FileDescriptor output, DeviceCounters counters)
    {
        _output = output;
        _counters = counters;
    }

    /// <summary>Output needs only the guest's buffers.</summary>
    public FileDescriptor? Source => null;

    public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
    {
        for (int done = 0; done < budget; done++)
        {
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            ChainRules.RequireNoWritable(chain, "console", "output");
            int count = ChainRules.RequireTranslated(chain.GetReadableIoVectors(queue.Memory, _vectors), chain, "console");
            try
            {
                ScatterGatherIo.WriteAll(_output, _vectors.AsSpan(0, count));
            }
            catch (IOException e)
            {
                throw new HostDeviceException($"console: writing to stdout failed: {e.Message}", e);
            }
            queue.AddUsed(chain.HeadIndex, 0);
            _counters.Request();
            _counters.Written((long)chain.ReadableBytes);
        }
        return DrainResult.BudgetSpent;
    }

    public void Dispose()
    {
    }
}
