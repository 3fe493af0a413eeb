namespace Lguest.Bench;

/// <summary>
/// One back end of the vhost-user suite, kept for the whole suite: its process, the image copy it alone serves (two
/// back ends on one file would fight over qemu-storage-daemon's image locks, and one's writes would land under the
/// other's reads), its front-end connection, and the CPU it burned while the other back ends were being measured.
/// </summary>
internal sealed class VhostUserTarget : IDisposable
{
    private readonly List<BlockResult> _windows = [];

    private VhostUserTarget(BackEndProcess process, BlockLoadGenerator generator, int queues)
    {
        Process = process;
        Generator = generator;
        Queues = queues;
    }

    public BackEndProcess Process { get; }

    public BlockLoadGenerator Generator { get; }

    /// <summary>The rings it serves: workloads needing more are skipped for it.</summary>
    public int Queues { get; }

    public string Name => Process.Name;

    /// <summary>CPU seconds it spent while another back end's timed window ran, and the wall seconds of those windows.</summary>
    public (double CpuSeconds, double WallSeconds) Idle { get; private set; }

    /// <summary>The timed windows of the workload being measured, one per round.</summary>
    public IReadOnlyList<BlockResult> Windows => _windows;

    /// <summary>
    /// Copies the suite's pre-filled image for this back end alone, starts it with <paramref name="start"/> on that
    /// copy, connects a front end and proves reads and a write through it reach that copy.
    /// </summary>
    public static VhostUserTarget Start(TestImages images, string tag, int queues, Func<string, BackEndProcess> start)
    {
        string image = Path.Combine(images.Directory, $"vhost-user-{tag}.img");
        // Written through the page cache, so the copy is as warm as the original: no back end pays for cold pages.
        File.Copy(images.Main, image, overwrite: true);
        BackEndProcess process = start(image);
        try
        {
            var generator = new BlockLoadGenerator(process.Sockets[0], (ulong)TestImages.MainBytes, queues);
            try
            {
                generator.Verify(image);
                var target = new VhostUserTarget(process, generator, queues);
                target.Freeze();
                return target;
            }
            catch
            {
                generator.Dispose();
                throw;
            }
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public bool Serves(BlockWorkload workload) => workload.Queues <= Queues;

    public void StartWorkload() => _windows.Clear();

    public void AddWindow(BlockResult result) => _windows.Add(result);

    public void AddIdle(double cpuSeconds, double wallSeconds) => Idle = (Idle.CpuSeconds + cpuSeconds, Idle.WallSeconds + wallSeconds);

    /// <summary>
    /// Stops the whole process (SIGSTOP) between its windows. A connected back end of ours that has nothing to do
    /// still burns about 25 ms of CPU per second (its threads spin in sched_yield), and three of them would take
    /// that from whichever back end is being measured on two vCPUs; frozen, no idle back end costs the others anything.
    /// </summary>
    public void Freeze() => Signal(Tmds.Linux.LibC.SIGSTOP);

    /// <summary>Lets it run again (SIGCONT), before its warm-up, which absorbs whatever timers fire on waking.</summary>
    public void Thaw() => Signal(Tmds.Linux.LibC.SIGCONT);

    private void Signal(int signal)
    {
        if (Tmds.Linux.LibC.kill(Process.Pid, signal) != 0)
        {
            throw new InvalidOperationException($"{Name}: kill({signal}) failed");
        }
    }

    public void Dispose()
    {
        // A stopped process would hold SIGTERM pending until it is continued.
        Thaw();
        Generator.Dispose();
        Process.Dispose();
    }
}
