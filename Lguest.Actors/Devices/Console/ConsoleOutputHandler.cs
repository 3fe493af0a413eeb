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

    /// <summary>Why: the whole chain goes to stdout in writev calls straight from guest memory; nothing is written back.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoWritable(writable, "console", "output");
        ulong length = readable.Remaining;
        int count = ChainRules.RequireTranslated(readable.ConsumeIoVectors(_vectors), readable.HeadIndex, "console");
        try
        {
            ScatterGatherIo.WriteAll(_output, _vectors.AsSpan(0, count));
        }
        catch (IOException e)
        {
            throw new HostDeviceException($"console: writing to stdout failed: {e.Message}", e);
        }
        _counters.Request();
        _counters.Written((long)length);
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
    }
}
