namespace Lguest.Bench;

/// <summary>
/// The runner's command line: [--quick] [--only ring|vhost-user|footprint|inprocess|realguest|qemu] [--no-peer]
/// [--previous HOST_DLL] [--markdown FILE] [--workload TEXT] [--syscalls]. --workload runs only the block workloads whose
/// name contains TEXT ("qd1"); --syscalls counts our back end's system calls per request with perf. --previous adds a back end built from an older commit (say the design
/// before the eventfd dispatcher) to the vhost-user suite, measured in the same run.
/// </summary>
internal sealed record BenchOptions(bool Quick, string? Only, string? MarkdownPath, bool NoPeer = false, string? PreviousHost = null, string? Workload = null, bool Syscalls = false)
{
    public static readonly string[] Suites = ["ring", "vhost-user", "footprint", "inprocess", "realguest", "qemu", "switch", "switch-guests"];

    /// <summary>How long each timed measurement runs: a few seconds, or about one with --quick.</summary>
    public TimeSpan MeasureFor => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    public bool Runs(string suite) => Only is null || Only == suite;

    /// <summary>Parses the arguments; null with <paramref name="error"/> set when they are wrong.</summary>
    public static BenchOptions? Parse(string[] args, out string? error)
    {
        bool quick = false;
        string? only = null;
        string? markdown = null;
        bool noPeer = false;
        string? previous = null;
        string? workload = null;
        bool syscalls = false;
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--only" when i + 1 < args.Length && Suites.Contains(args[i + 1]):
                    only = args[++i];
                    break;
                case "--no-peer":
                    // Ours only: for quick before/after experiments on our back end.
                    noPeer = true;
                    break;
                case "--previous" when i + 1 < args.Length && File.Exists(args[i + 1]):
                    previous = Path.GetFullPath(args[++i]);
                    break;
                case "--workload" when i + 1 < args.Length:
                    workload = args[++i];
                    break;
                case "--syscalls":
                    syscalls = true;
                    break;
                case "--markdown" when i + 1 < args.Length:
                    markdown = args[++i];
                    break;
                default:
                    error = $"unexpected argument '{args[i]}'; usage: [--quick] [--only {string.Join('|', Suites)}] [--no-peer] [--previous HOST_DLL] [--markdown FILE] [--workload TEXT] [--syscalls]";
                    return null;
            }
        }
        return new BenchOptions(quick, only, markdown, noPeer, previous, workload, syscalls);
    }
}
