namespace Lguest.Actors.Engines.Qemu;

/// <summary>Finds programs as execvp would: a name with a slash is a path, anything else is looked up on PATH.</summary>
internal static class QemuBinary
{
    public static string? Find(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? Path.GetFullPath(program) : null;
        }
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(directory.Length == 0 ? "." : directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
