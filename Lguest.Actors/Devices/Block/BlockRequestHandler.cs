using Akka.Event;
using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Block;

/// <summary>
/// Serves disk requests. Every request should carry a header the guest can read (where on disk, and what to do) and
/// a status byte, the last writable byte, for our answer. Anything we can answer we do, with IOERR for a range off
/// the disk or a failed read and UNSUPP for a type we do not know; only a request with no header or no status byte
/// cannot be answered at all, and that is the guest's fault.
/// </summary>
internal sealed class BlockRequestHandler : IQueueHandler
{
    private readonly BlockDisk _disk;
    private readonly DeviceCounters _counters;
    private readonly IoVector[] _vectors = ChainRules.NewIoVectors();
    private readonly byte[] _header = new byte[BlockProtocol.HeaderSize];
    private readonly byte[] _status = new byte[1];
    private bool _failing;

    public BlockRequestHandler(BlockDisk disk, DeviceCounters counters)
    {
        _disk = disk;
        _counters = counters;
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
            if (chain.WritableBytes == 0)
            {
                throw new GuestRequestException($"block: request {chain.HeadIndex} has no status byte");
            }
            if (chain.CopyFromReadable(queue.Memory, 0, _header) < BlockProtocol.HeaderSize)
            {
                throw new GuestRequestException($"block: request {chain.HeadIndex} has a header of {chain.ReadableBytes} bytes, not {BlockProtocol.HeaderSize}");
            }
            (uint type, ulong sector) = BlockProtocol.ParseHeader(_header);
            (byte status, uint data) = _disk.Failed ? (BlockProtocol.StatusIoError, 0u) : Serve(queue, chain, type, sector);

            _status[0] = status;
            chain.CopyToWritable(queue.Memory, chain.WritableBytes - 1, _status);
            queue.AddUsed(chain.HeadIndex, data + 1);
            _counters.Request();
        }
        return DrainResult.BudgetSpent;
    }

    public void Dispose()
    {
    }

    /// <summary>Carries out one request: its status and how many bytes it wrote into the guest's buffers.</summary>
    private (byte Status, uint Data) Serve(SplitQueue queue, DescriptorChain chain, uint type, ulong sector)
    {
        // By exact type: the seed tested bits, which made FLUSH_OUT (5) a write and every odd number one too.
        switch (type)
        {
            case BlockProtocol.TypeIn:
                return Read(queue, chain, sector);
            case BlockProtocol.TypeOut:
                return (Write(queue, chain, sector), 0);
            case BlockProtocol.TypeFlush:
                return (_disk.TryFlush() ? BlockProtocol.StatusOk : BlockProtocol.StatusIoError, 0);
            case BlockProtocol.TypeGetId:
                int length = (int)Math.Min((ulong)BlockProtocol.IdSize, chain.WritableBytes - 1);
                int written = chain.CopyToWritable(queue.Memory, 0, _disk.Id.AsSpan(0, length));
                return (BlockProtocol.StatusOk, (uint)written);
            default:
                _counters.GuestError();
                return (BlockProtocol.StatusUnsupported, 0);
        }
    }

    private (byte Status, uint Data) Read(SplitQueue queue, DescriptorChain chain, ulong sector)
    {
        ulong length = chain.WritableBytes - 1;
        if (!BlockProtocol.TryGetRange(sector, length, _disk.Capacity, out long offset))
        {
            _counters.GuestError();
            return (BlockProtocol.StatusIoError, 0);
        }
        int count = ChainRules.RequireTranslated(chain.GetWritableIoVectors(queue.Memory, _vectors, 0, length), chain, "block");
        long read;
        try
        {
            read = ScatterGatherIo.PReadAll(_disk.File, _vectors.AsSpan(0, count), offset);
        }
        catch (SystemCallException e)
        {
            // The guest can retry a failed read, and a disk with a bad patch should not take the launcher down.
            IoFailed($"reading {length} bytes at offset {offset} failed: {e.Message}");
            return (BlockProtocol.StatusIoError, 0);
        }
        _counters.Read(read);

        // Short only if the file shrank under us: what did arrive is reported, the request is not.
        if ((ulong)read != length)
        {
            IoFailed($"reading {length} bytes at offset {offset} returned {read}: the file is shorter than the {_disk.Capacity}-sector disk (truncated?)");
            return (BlockProtocol.StatusIoError, (uint)read);
        }
        IoSucceeded();
        return (BlockProtocol.StatusOk, (uint)read);
    }

    private byte Write(SplitQueue queue, DescriptorChain chain, ulong sector)
    {
        ulong length = chain.ReadableBytes - BlockProtocol.HeaderSize;
        if (_disk.ReadOnly || !BlockProtocol.TryGetRange(sector, length, _disk.Capacity, out long offset))
        {
            _counters.GuestError();
            return BlockProtocol.StatusIoError;
        }
        int count = ChainRules.RequireTranslated(
            chain.GetReadableIoVectors(queue.Memory, _vectors, BlockProtocol.HeaderSize, length), chain, "block");
        try
        {
            ScatterGatherIo.PWriteAll(_disk.File, _vectors.AsSpan(0, count), offset);
        }
        catch (IOException e)
        {
            IoFailed($"writing {length} bytes at offset {offset} failed: {e.Message}");
            return BlockProtocol.StatusIoError;
        }
        _counters.Written((long)length);
        IoSucceeded();
        return BlockProtocol.StatusOk;
    }

    /// <summary>
    /// Counts a failed transfer and logs the first of a run, so a file truncated or failing under a running guest is
    /// seen in the log without one line per request.
    /// </summary>
    private void IoFailed(string what)
    {
        _counters.IoError();
        if (!_failing)
        {
            _failing = true;
            _disk.Log.Error("block {Path}: {Reason}; the guest gets I/O errors until transfers succeed again", _disk.Path, what);
        }
    }

    private void IoSucceeded()
    {
        if (_failing)
        {
            _failing = false;
            _disk.Log.Info("block {Path}: transfers succeed again", _disk.Path);
        }
    }
}
