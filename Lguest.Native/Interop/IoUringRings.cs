using Tmds.Linux;

namespace Lguest.Native.Interop;

/// <summary>
/// Where the fields of an io_uring's shared rings are, worked out once from the offsets io_uring_setup returned:
/// the head, tail and mask of each ring, the submission index array, and the entry arrays.
/// </summary>
internal readonly unsafe struct IoUringRings
{
    public IoUringRings(in io_uring_params parameters, nint submissionRing, nint completionRing, nint submissionEntries)
    {
        byte* sq = (byte*)submissionRing;
        byte* cq = (byte*)completionRing;
        SubmissionHead = (uint*)(sq + parameters.sq_off.head);
        SubmissionTail = (uint*)(sq + parameters.sq_off.tail);
        SubmissionMask = *(uint*)(sq + parameters.sq_off.ring_mask);
        SubmissionArray = (uint*)(sq + parameters.sq_off.array);
        CompletionHead = (uint*)(cq + parameters.cq_off.head);
        CompletionTail = (uint*)(cq + parameters.cq_off.tail);
        CompletionMask = *(uint*)(cq + parameters.cq_off.ring_mask);
        Completions = (io_uring_cqe*)(cq + parameters.cq_off.cqes);
        Submissions = (io_uring_sqe*)submissionEntries;
    }

    /// <summary>Advanced by the kernel as it consumes entries.</summary>
    public uint* SubmissionHead { get; }

    /// <summary>Advanced by us to publish entries.</summary>
    public uint* SubmissionTail { get; }

    public uint SubmissionMask { get; }

    /// <summary>Ring slot to entry index: we keep it the identity.</summary>
    public uint* SubmissionArray { get; }

    /// <summary>Advanced by us as we reap.</summary>
    public uint* CompletionHead { get; }

    /// <summary>Advanced by the kernel as it posts completions.</summary>
    public uint* CompletionTail { get; }

    public uint CompletionMask { get; }

    private io_uring_cqe* Completions { get; }

    private io_uring_sqe* Submissions { get; }

    public io_uring_sqe* SubmissionEntry(uint slot) => Submissions + slot;

    public io_uring_cqe* CompletionEntry(uint head) => Completions + (head & CompletionMask);
}
