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
/// With an io_uring (<see cref="BlockWriteRing"/>) and a ring attached, a write that has company (more chains waiting,
/// or writes already in flight) is left to the kernel and answered when it completes, so this thread goes back to the
/// ring while an io-wq worker copies the data; a lone write stays a pwritev, which is cheaper than a punt to a worker.
/// </summary>
internal sealed class BlockRequestHandler : IQueueHandler, ICompletingQueueHandler
{
    private readonly BlockDisk _disk;
    private readonly DeviceCounters _counters;
    private readonly IoVector[] _vectors = ChainRules.NewIoVectors();
    private readonly BlockWriteRing? _writes;
    private SplitQueue? _queue;
    private bool _failing;

    public BlockRequestHandler(BlockDisk disk, DeviceCounters counters, BlockWriteRing? writes = null)
    {
        _disk = disk;
        _counters = counters;
        _writes = writes;
    }

    /// <summary>Null without an io_uring: every request is answered at once, and the queue treats this as a plain handler.</summary>
    public EventFd? Completions => _writes?.Completions;

    public int InFlight => _writes?.InFlight ?? 0;

    public bool HasCompleted => _writes is { HasCompleted: true };

    public void Attach(SplitQueue queue) => _queue = queue;

    public void Submit() => _writes?.Submit();

    /// <summary>Why: a finished write gets its status byte, then its used element; the driver may see them in any order of requests (§2.7.8).</summary>
    public int Complete()
    {
        if (_writes is not { } writes)
        {
            return 0;
        }
        int done = 0;
        while (writes.TryFinish(out InFlightWrite write, out int result))
        {
            write.Status.Set(Finished(write, result));
            _counters.Request();
            done++;
            if (_queue is { IsPoisoned: false } queue)
            {
                queue.AddUsed(write.Head, 1);
            }
        }
        return done;
    }

    public void CompleteAll()
    {
        _writes?.WaitForAll();
        Complete();
    }

    /// <summary>
    /// Why: one request, header in, data either way, status out. The status writer is split off the end first, so
    /// the data can never run into it and the used length (data written + 1) falls out of the writers.
    /// </summary>
    public HandlerOutcome Handle(ref ChainReader readable, ref ChainWriter writable)
    {
        if (writable.Available == 0)
        {
            throw new GuestRequestException($"block: request {writable.HeadIndex} has no status byte");
        }
        Span<byte> header = stackalloc byte[BlockProtocol.HeaderSize];
        int got = readable.Read(header);
        if (got < BlockProtocol.HeaderSize)
        {
            throw new GuestRequestException($"block: request {readable.HeadIndex} has a header of {got} bytes, not {BlockProtocol.HeaderSize}");
        }
        (uint type, ulong sector) = BlockProtocol.ParseHeader(header);
        ChainWriter status = writable.SplitOffTail(1);
        byte? result = _disk.Failed ? BlockProtocol.StatusIoError : Serve(ref readable, ref writable, in status, type, sector);
        if (result is not { } answer)
        {
            return HandlerOutcome.Pending;
        }
        status.TryWriteObject(answer);
        _counters.Request();
        return HandlerOutcome.Used;
    }

    public void Dispose()
    {
        if (_writes is null)
        {
            return;
        }
        try
        {
            // Normally the queue has waited already; this covers a handler disposed without one.
            _writes.WaitForAll();
        }
        finally
        {
            _writes.Dispose();
        }
    }

    /// <summary>Carries out one request, writing any data it returns into <paramref name="data"/>; returns its status, or null when it is in flight.</summary>
    private byte? Serve(ref ChainReader request, ref ChainWriter data, in ChainWriter status, uint type, ulong sector)
    {
        // By exact type: the seed tested bits, which made FLUSH_OUT (5) a write and every odd number one too.
        switch (type)
        {
            case BlockProtocol.TypeIn:
                return Read(ref data, sector);
            case BlockProtocol.TypeOut:
                return Write(ref request, in status, sector);
            case BlockProtocol.TypeFlush:
                // A write acknowledged before the flush must be on disk after it: the ones in flight land first.
                _writes?.WaitForAll();
                return _disk.TryFlush() ? BlockProtocol.StatusOk : BlockProtocol.StatusIoError;
            case BlockProtocol.TypeGetId:
                data.Write(_disk.Id.AsSpan(0, BlockProtocol.IdSize));
                return BlockProtocol.StatusOk;
            default:
                _counters.GuestError();
                return BlockProtocol.StatusUnsupported;
        }
    }

    /// <summary>Why: a read fills every data byte the guest offered, with one preadv straight into its buffers.</summary>
    private byte Read(ref ChainWriter data, ulong sector)
    {
        ulong length = data.Available;
        if (!BlockProtocol.TryGetRange(sector, length, _disk.Capacity, out long offset))
        {
            _counters.GuestError();
            return BlockProtocol.StatusIoError;
        }
        int count = ChainRules.RequireTranslated(data.GetIoVectors(_vectors, length), data.HeadIndex, "block");
        long read;
        try
        {
            read = ScatterGatherIo.PReadAll(_disk.File, _vectors.AsSpan(0, count), offset);
        }
        catch (SystemCallException e)
        {
            // The guest can retry a failed read, and a disk with a bad patch should not take the launcher down.
            IoFailed($"reading {length} bytes at offset {offset} failed: {e.Message}");
            return BlockProtocol.StatusIoError;
        }
        data.MarkWritten((ulong)read);
        _counters.Read(read);

        // Short only if the file shrank under us: what did arrive is reported, the request is not.
        if ((ulong)read != length)
        {
            IoFailed($"reading {length} bytes at offset {offset} returned {read}: the file is shorter than the {_disk.Capacity}-sector disk (truncated?)");
            return BlockProtocol.StatusIoError;
        }
        IoSucceeded();
        return BlockProtocol.StatusOk;
    }

    /// <summary>Why: a write takes every readable byte after the header, with one pwritev straight from the guest's buffers.</summary>
    private byte? Write(ref ChainReader request, in ChainWriter status, ulong sector)
    {
        ulong length = request.Remaining;
        if (_disk.ReadOnly || !BlockProtocol.TryGetRange(sector, length, _disk.Capacity, out long offset))
        {
            _counters.GuestError();
            return BlockProtocol.StatusIoError;
        }
        int count = ChainRules.RequireTranslated(request.ConsumeIoVectors(_vectors, length), request.HeadIndex, "block");
        if (_writes is { } writes && _queue is { } queue && (writes.InFlight > 0 || queue.HasAvailable)
            && IoUringStatusByte.TryLocate(in status, out IoUringStatusByte statusByte)
            && writes.TryStart(_disk.File, _vectors.AsSpan(0, count), offset, new InFlightWrite(request.HeadIndex, statusByte, length, offset)))
        {
            return null;
        }
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

    /// <summary>Why: a write finished in the kernel is judged as a pwritev would be: whole, or an I/O error in the log.</summary>
    private byte Finished(in InFlightWrite write, int result)
    {
        if (result < 0)
        {
            IoFailed($"writing {write.Length} bytes at offset {write.Offset} failed: {Errno.Describe(-result)}");
            return BlockProtocol.StatusIoError;
        }
        if ((ulong)result != write.Length)
        {
            IoFailed($"writing {write.Length} bytes at offset {write.Offset} wrote only {result}");
            return BlockProtocol.StatusIoError;
        }
        _counters.Written(result);
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
