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

    public DrainResult Drain(SplitQueue queue, DescriptorChain chain, int budget)
    {
        for (int done = 0; done < budget; done++)
        {
            if (_state.Ended)
            {
                return Swallow(queue, chain);
            }
            if (!IsReadable())
            {
                return DrainResult.SourceEmpty;
            }
            if (!queue.TryPop(chain))
            {
                return DrainResult.RingEmpty;
            }
            ChainRules.RequireNoReadable(chain, "console", "input");
            if (chain.WritableBytes == 0)
            {
                throw new GuestRequestException($"console: input chain {chain.HeadIndex} has no room for a single byte");
            }
            int count = ChainRules.RequireTranslated(chain.GetWritableIoVectors(queue.Memory, _vectors), chain, "console");

            long read;
            try
            {
                read = ScatterGatherIo.ReadV(_input, _vectors.AsSpan(0, count));
            }
            catch (SystemCallException e)
            {
                _state.HeldChains++;
                _state.End($"reading stdin failed: {Errno.Describe(e.Errno)}", failed: true);
                continue;
            }
            if (read == 0)
            {
                _state.HeldChains++;
                _state.End("end of input on stdin");
                continue;
            }

            queue.AddUsed(chain.HeadIndex, (uint)read);
            _counters.Request();
            _counters.Read(read);
            _state.Abort.Saw(read, FirstByte(queue, chain));
        }
        return DrainResult.BudgetSpent;
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
            return true; // the next round swallows
        }
    }

    private static byte FirstByte(SplitQueue queue, DescriptorChain chain)
    {
        foreach (ChainBuffer buffer in chain.Writable)
        {
            if (buffer.Length != 0)
            {
                return queue.Memory.Read<byte>(buffer.Address);
            }
        }
        return 0;
    }

    private DrainResult Swallow(SplitQueue queue, DescriptorChain chain)
    {
        while (queue.TryPop(chain))
        {
            ChainRules.RequireNoReadable(chain, "console", "input");
            _state.HeldChains++;
        }
        return DrainResult.RingEmpty;
    }
}
