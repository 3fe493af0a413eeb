using System.Runtime.InteropServices;
using Tmds.Linux;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// One io_uring instance, used by one thread: a submission ring we fill and a completion ring we drain, both shared
/// memory with the kernel, so handing over a batch of writes costs one io_uring_enter and learning what finished costs
/// none. The kernel runs what cannot complete inline (a buffered write to ext4) on its io-wq workers, which is what
/// lets one queue thread keep the ring moving while another CPU copies the data. The iovecs of prepared entries live
/// in an arena of our own until they are submitted; the ring is only created on kernels that promise (SUBMIT_STABLE)
/// not to look at them after that. Not thread-safe: one queue thread owns it.
/// </summary>
public sealed unsafe class IoUring : IDisposable
{
    private readonly FileDescriptor _ring;
    private readonly MemoryMapping _submissionRing;
    private readonly MemoryMapping _completionRing;
    private readonly MemoryMapping _submissionEntries;
    private readonly IoUringRings _rings;
    private readonly IoVector* _arena;
    private readonly int _arenaCapacity;
    private int _arenaUsed;
    private uint _localTail;
    private uint _unsubmitted;
    private bool _disposed;

    private IoUring(FileDescriptor ring, in io_uring_params parameters, int arenaVectors)
    {
        _ring = ring;
        ulong sqBytes = parameters.sq_off.array + parameters.sq_entries * sizeof(uint);
        ulong cqBytes = parameters.cq_off.cqes + parameters.cq_entries * (ulong)sizeof(io_uring_cqe);
        ulong sqeBytes = parameters.sq_entries * (ulong)sizeof(io_uring_sqe);
        _submissionRing = MemoryMapping.MapShared(ring, (ulong)Linux.IORING_OFF_SQ_RING, sqBytes);
        try
        {
            _completionRing = MemoryMapping.MapShared(ring, (ulong)Linux.IORING_OFF_CQ_RING, cqBytes);
            _submissionEntries = MemoryMapping.MapShared(ring, (ulong)Linux.IORING_OFF_SQES, sqeBytes);
        }
        catch
        {
            _completionRing?.Dispose();
            _submissionRing.Dispose();
            throw;
        }
        _rings = new IoUringRings(parameters, _submissionRing.Address, _completionRing.Address, _submissionEntries.Address);
        _localTail = Volatile.Read(ref *_rings.SubmissionTail);
        _arenaCapacity = arenaVectors;
        _arena = (IoVector*)NativeMemory.AllocZeroed((nuint)arenaVectors, (nuint)sizeof(IoVector));
        SubmissionEntries = parameters.sq_entries;
        CompletionEntries = parameters.cq_entries;
    }

    /// <summary>Submission ring size (the kernel rounds the request up to a power of two).</summary>
    public uint SubmissionEntries { get; }

    /// <summary>Completion ring size: twice the submission ring, so a full submission ring can never overflow it.</summary>
    public uint CompletionEntries { get; }

    /// <summary>Prepared entries the kernel has not been given yet.</summary>
    public uint Unsubmitted => _unsubmitted;

    /// <summary>Completions waiting in the ring (a shared-memory read, no system call).</summary>
    public uint CompletionsReady => Volatile.Read(ref *_rings.CompletionTail) - *_rings.CompletionHead;

    /// <summary>
    /// io_uring_setup with <paramref name="entries"/> submission entries and room for
    /// <paramref name="arenaVectors"/> iovecs between submissions. ENOSYS (old kernel), EPERM (seccomp, the
    /// io_uring_disabled sysctl) and ENOMEM (locked-memory limit) come out as <see cref="SystemCallException"/>, so
    /// the caller can fall back to synchronous calls; a kernel without SUBMIT_STABLE is reported as EOPNOTSUPP.
    /// </summary>
    public static IoUring Create(uint entries, int arenaVectors = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfZero(entries);
        ArgumentOutOfRangeException.ThrowIfLessThan(arenaVectors, 1);
        io_uring_params parameters = default;
        int fd = (int)SystemCall.ThrowIfFailed(Linux.io_uring_setup(entries, &parameters), $"io_uring_setup {entries} entries");
        var ring = FileDescriptor.Adopt(fd);
        if ((parameters.features & Linux.IORING_FEAT_SUBMIT_STABLE) == 0)
        {
            ring.Dispose();
            SystemCall.Throw(Errno.EOPNOTSUPP, "io_uring without IORING_FEAT_SUBMIT_STABLE");
        }
        try
        {
            return new IoUring(ring, parameters, arenaVectors);
        }
        catch
        {
            ring.Dispose();
            throw;
        }
    }

    /// <summary>Has the kernel signal <paramref name="eventFd"/> for every completion, so a thread can sleep in poll() on it.</summary>
    public void RegisterEventFd(EventFd eventFd)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        using FileDescriptor.Lease ring = _ring.Borrow();
        using FileDescriptor.Lease efd = eventFd.Descriptor.Borrow();
        int number = efd.Number;
        long r = SystemCall.Uninterrupted(new IoUringCalls.Register(ring.Number, Linux.IORING_REGISTER_EVENTFD, &number, 1));
        SystemCall.ThrowIfFailed(r, $"io_uring_register EVENTFD {number}");
    }

    /// <summary>
    /// Queues a pwritev of <paramref name="vectors"/> at <paramref name="offset"/> of <paramref name="file"/>, to
    /// complete with <paramref name="userData"/>. False when the submission ring or the iovec arena is full: call
    /// <see cref="Submit"/> and try again. The memory the vectors point at, and <paramref name="file"/>, must stay
    /// valid until the completion is reaped.
    /// </summary>
    public bool TryPrepareWriteV(FileDescriptor file, ReadOnlySpan<IoVector> vectors, long offset, ulong userData)
        => TryPrepare((byte)Linux.IORING_OP_WRITEV, file, vectors, offset, userData);

    /// <summary>As <see cref="TryPrepareWriteV"/>, for a preadv.</summary>
    public bool TryPrepareReadV(FileDescriptor file, ReadOnlySpan<IoVector> vectors, long offset, ulong userData)
        => TryPrepare((byte)Linux.IORING_OP_READV, file, vectors, offset, userData);

    /// <summary>
    /// Why: one io_uring_enter hands every prepared entry to the kernel, which is the only system call a batch of
    /// writes costs. The arena is free again afterwards (SUBMIT_STABLE: the kernel copied the iovecs it needs).
    /// </summary>
    public void Submit() => Enter(0);

    /// <summary>
    /// Submits what is prepared, then sleeps until at least <paramref name="count"/> completions are in the ring
    /// (unreaped ones count): how a queue waits for the writes it has in flight before a flush or a stop.
    /// </summary>
    public void WaitForCompletions(uint count)
    {
        Enter(0);
        while (CompletionsReady < count)
        {
            Enter(count);
        }
    }

    /// <summary>Takes the oldest completion, if any: its user data and its result (bytes, or a negated errno).</summary>
    public bool TryReap(out ulong userData, out int result)
    {
        uint head = *_rings.CompletionHead;
        // Acquire: the entry the kernel wrote before moving the tail is visible once we have seen the tail.
        if (head == Volatile.Read(ref *_rings.CompletionTail))
        {
            userData = 0;
            result = 0;
            return false;
        }
        io_uring_cqe* entry = _rings.CompletionEntry(head);
        userData = entry->user_data;
        result = entry->res;
        // Release: our reads of the entry are done before the kernel may reuse the slot.
        Volatile.Write(ref *_rings.CompletionHead, head + 1);
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        // The ring fd first: closing it cancels or finishes whatever is in flight before the rings go away.
        _ring.Dispose();
        _submissionEntries.Dispose();
        _completionRing.Dispose();
        _submissionRing.Dispose();
        NativeMemory.Free(_arena);
    }

    private bool TryPrepare(byte opcode, FileDescriptor file, ReadOnlySpan<IoVector> vectors, long offset, ulong userData)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfZero(vectors.Length);
        uint inRing = _localTail - Volatile.Read(ref *_rings.SubmissionHead);
        if (inRing >= SubmissionEntries || vectors.Length > _arenaCapacity - _arenaUsed)
        {
            return false;
        }
        IoVector* copy = _arena + _arenaUsed;
        vectors.CopyTo(new Span<IoVector>(copy, vectors.Length));
        _arenaUsed += vectors.Length;

        uint slot = _localTail & _rings.SubmissionMask;
        io_uring_sqe* entry = _rings.SubmissionEntry(slot);
        *entry = default;
        entry->opcode = opcode;
        entry->fd = (int)file.DangerousGetHandle();
        entry->off = (ulong)offset;
        entry->addr = (ulong)copy;
        entry->len = (uint)vectors.Length;
        entry->user_data = userData;
        _rings.SubmissionArray[slot] = slot;
        _localTail++;
        _unsubmitted++;
        return true;
    }

    /// <summary>
    /// Publishes the tail (release: the entries are visible first) and enters the kernel until every prepared entry is
    /// consumed, waiting for <paramref name="minComplete"/> completions when it is not zero.
    /// </summary>
    private void Enter(uint minComplete)
    {
        if (_unsubmitted == 0 && minComplete == 0)
        {
            return;
        }
        Volatile.Write(ref *_rings.SubmissionTail, _localTail);
        using FileDescriptor.Lease ring = _ring.Borrow();
        do
        {
            uint flags = minComplete > 0 ? Linux.IORING_ENTER_GETEVENTS : 0;
            long r = SystemCall.Uninterrupted(new IoUringCalls.Enter(ring.Number, _unsubmitted, minComplete, flags));
            SystemCall.ThrowIfFailed(r, $"io_uring_enter {_unsubmitted} entries");
            if (r == 0 && _unsubmitted > 0)
            {
                // The kernel took none of what is in its ring: looping would spin.
                throw new IOException($"io_uring_enter consumed none of {_unsubmitted} entries");
            }
            _unsubmitted -= (uint)r;
            minComplete = 0;
        }
        while (_unsubmitted > 0);
        _arenaUsed = 0;
    }
}
