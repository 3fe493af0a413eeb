namespace Lguest.Bench;

/// <summary>
/// One fio-like job: reads or writes of <paramref name="BlockSize"/> bytes, random or sequential, at a queue depth
/// per queue, on <paramref name="Queues"/> rings of one connection, each driven by a front-end thread of its own.
/// </summary>
internal sealed record BlockWorkload(string Name, bool Write, int BlockSize, int QueueDepth, bool Random, int Queues = 1)
{
    public static readonly BlockWorkload[] All =
    [
        new("4k randread qd1", Write: false, 4096, 1, Random: true),
        new("4k randread qd8", Write: false, 4096, 8, Random: true),
        new("4k randread qd32", Write: false, 4096, 32, Random: true),
        new("4k randwrite qd1", Write: true, 4096, 1, Random: true),
        new("4k randwrite qd8", Write: true, 4096, 8, Random: true),
        new("4k randwrite qd32", Write: true, 4096, 32, Random: true),
        new("64k seqread qd1", Write: false, 65536, 1, Random: false),
        new("64k seqread qd32", Write: false, 65536, 32, Random: false),
        new("4k randread 2 queues x qd8", Write: false, 4096, 8, Random: true, Queues: 2),
    ];

    /// <summary>The most rings any workload uses: every back end serves this many.</summary>
    public static int MaxQueues => All.Max(w => w.Queues);
}

/// <summary>What one workload measured against one back end.</summary>
internal sealed record BlockResult(long Requests, TimeSpan Elapsed, double P50Microseconds, double P99Microseconds, double CpuSeconds, long ContextSwitches)
{
    public double Iops => Requests / Elapsed.TotalSeconds;
}
