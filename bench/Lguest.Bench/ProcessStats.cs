using System.Globalization;

namespace Lguest.Bench;

/// <summary>
/// What /proc says about a back-end process: CPU time (all threads), peak RSS, threads and context switches.
/// /proc/PID/status counts context switches for the main thread only, so they are summed over /proc/PID/task.
/// </summary>
internal readonly record struct ProcessStats(double CpuSeconds, long ContextSwitches)
{
    // USER_HZ is 100 on every Linux ABI .NET runs on; /proc/PID/stat reports CPU time in those ticks.
    private const double TicksPerSecond = 100;

    public static ProcessStats Read(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name in parentheses may itself hold spaces; fields are counted from after its ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        double cpu = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        long switches = 0;
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                switches += StatusValue(Path.Combine(task, "status"), "voluntary_ctxt_switches")
                    + StatusValue(Path.Combine(task, "status"), "nonvoluntary_ctxt_switches");
            }
            catch (IOException)
            {
                // A thread that ended between the listing and the read takes its count with it.
            }
        }
        return new ProcessStats(cpu, switches);
    }

    /// <summary>VmHWM: the peak resident set, in MiB.</summary>
    public static double PeakRssMegabytes(int pid) => StatusValue($"/proc/{pid}/status", "VmHWM") / 1024.0;

    public static long Threads(int pid) => StatusValue($"/proc/{pid}/status", "Threads");

    private static long StatusValue(string path, string key)
    {
        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidDataException($"{path} has no {key}");
    }
}
