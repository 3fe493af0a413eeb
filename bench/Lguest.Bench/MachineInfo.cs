namespace Lguest.Bench;

/// <summary>What the numbers were measured on: they mean little without the CPU, core count, kernel and load.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
            ?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        return $"{Environment.ProcessorCount} CPUs, {cpu}, Linux {kernel}, .NET {Environment.Version}";
    }

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
