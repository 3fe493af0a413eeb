namespace Lguest.Native.Virtio;

/// <summary>
/// A validated snapshot of one descriptor chain. The guest can rewrite its descriptor table at any moment, so the
/// queue reads each descriptor exactly once into this snapshot and every later decision (lengths, directions,
/// what to copy where) is made from here, never from shared memory again.
///
/// The caller owns it and hands it to every <see cref="SplitQueue.TryPop"/>, which refills it: its storage only
/// grows when a chain is longer than any seen before, so steady-state popping allocates nothing. After a pop
/// that threw, its contents are meaningless.
/// </summary>
public sealed class DescriptorChain
{
    private ChainBuffer[] _buffers;
    private int _count;

    public DescriptorChain(int initialCapacity = 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialCapacity, 1);
        _buffers = new ChainBuffer[Math.Min(initialCapacity, MaxLength)];
    }

    /// <summary>
    /// The most buffers one chain can carry: a direct part no longer than the queue, then one indirect table of at
    /// most 32768 descriptors.
    /// </summary>
    internal const int MaxLength = 2 * VirtqueueFlags.MaxQueueSize;

    /// <summary>The descriptor index to hand back to <see cref="SplitQueue.AddUsed"/>.</summary>
    public ushort HeadIndex { get; private set; }

    public ReadOnlySpan<ChainBuffer> Buffers => new(_buffers, 0, _count);

    /// <summary>The device-readable buffers, which always come first.</summary>
    public ReadOnlySpan<ChainBuffer> Readable => new(_buffers, 0, ReadableCount);

    /// <summary>The device-writable buffers, which always follow the readable ones.</summary>
    public ReadOnlySpan<ChainBuffer> Writable => new(_buffers, ReadableCount, _count - ReadableCount);

    public int ReadableCount { get; private set; }

    public int WritableCount => _count - ReadableCount;

    /// <summary>Total bytes the device may read; a ulong because a hostile chain may describe more than 4 GiB.</summary>
    public ulong ReadableBytes { get; private set; }

    /// <summary>Total bytes the device may write.</summary>
    public ulong WritableBytes { get; private set; }

    /// <summary>
    /// What the device wrote into this chain so far, kept by <see cref="ChainWriter"/> and its splits: the used length.
    /// It lives here, on the caller's reused snapshot, so writers split from one another share it without allocating.
    /// </summary>
    public ulong BytesWritten { get; internal set; }

    internal void Begin(ushort head)
    {
        HeadIndex = head;
        _count = 0;
        ReadableCount = 0;
        ReadableBytes = 0;
        WritableBytes = 0;
        BytesWritten = 0;
    }

    /// <summary>
    /// Appends a buffer the queue has already checked (in memory, in order, within the walk bound, which also
    /// bounds the growth here).
    /// </summary>
    internal void Add(ChainBuffer buffer)
    {
        if (_count == _buffers.Length)
        {
            Array.Resize(ref _buffers, Math.Min(_buffers.Length * 2, MaxLength));
        }
        _buffers[_count++] = buffer;
        if (buffer.Writable)
        {
            WritableBytes += buffer.Length;
        }
        else
        {
            ReadableCount++;
            ReadableBytes += buffer.Length;
        }
    }
}
