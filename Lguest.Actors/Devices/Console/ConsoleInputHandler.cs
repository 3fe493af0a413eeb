using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Console;

/// <summary>
/// stdin to the guest. We look at stdin before taking a buffer, so with nothing typed the guest's buffers stay in
/// the ring, and with no buffers the keystrokes stay in the kernel: nothing is ever held on the host. Each read goes
/// straight into the guest's buffers.
///
/// When stdin ends (or fails) the console stops listening and nothing else: the seed's thread napped for ever
/// holding a buffer. We do the same for every buffer the guest offers afterwards, which keeps them out of the
/// ring, so neither the ring nor a forever-readable stdin can wake us again.
/// </summary>
internal sealed class ConsoleInputHandler : IQueueHandler
{
    private readonly FileDescriptor _input;
    private readonly ConsoleInputState _state;
    private readonly DeviceCounters _counters;
    private readonly IoVector[] _vectors = ChainRules.NewIoVectors();

    public ConsoleInputHandler(FileDescriptor input, ConsoleInputState state, DeviceCounters counters)
    {
        _input = input;
        _state = state;
        _counters = counters;
    }

    public FileDescriptor? Source => _input;

    /// <summary>
    /// Why: a buffer is taken only when stdin has bytes for it. Once input has ended every buffer is taken and held,
    /// so none waits in the ring to wake us.
    /// </summary>
    public SourceState CheckSource() => _state.Ended || IsReadable() ? SourceState.Ready : SourceState.Empty;

    /// <summary>Why: one readv from stdin straight into the guest's buffers; the bytes read are the used length.</summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        ChainRules.RequireNoReadable(readable, "console", "input");
        if (_state.Ended)
        {
            _state.HeldChains++;
            return HandlerOutcome.Held;
        }
        if (writable.Available == 0)
        {
            throw new GuestRequestException($"console: input chain {writable.HeadIndex} has no room for a single byte");
        }
        int count = ChainRules.RequireTranslated(writable.GetIoVectors(_vectors), writable.HeadIndex, "console");

        long read;
        try
        {
            read = ScatterGatherIo.ReadV(_input, _vectors.AsSpan(0, count));
        }
        catch (SystemCallException e)
        {
            _state.HeldChains++;
            _state.End($"reading stdin failed: {Errno.Describe(e.Errno)}", failed: true);
            return HandlerOutcome.Held;
        }
        if (read == 0)
        {
            _state.HeldChains++;
            _state.End("end of input on stdin");
            return HandlerOutcome.Held;
        }

        writable.MarkWritten((ulong)read);
        _counters.Request();
        _counters.Read(read);
        Span<byte> first = stackalloc byte[1];
        writable.ReadBack(first);
        _state.Abort.Saw(read, first[0]);
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
    }

    private bool IsReadable()
    {
        try
        {
            return NonBlockingIo.IsReadable(_input);
        }
        catch (SystemCallException e)
        {
            _state.End($"polling stdin failed: {Errno.Describe(e.Errno)}", failed: true);
            return true; // the next chain is held
        }
    }
}
