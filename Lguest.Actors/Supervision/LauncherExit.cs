namespace Lguest.Actors.Supervision;

/// <summary>How the launcher ended: the process exit code and the one line that explains it.</summary>
public sealed record LauncherExit(int ExitCode, string Message)
{
    public const int PoweredOff = 0;
    public const int Failed = 1;
    public const int UsageError = 2;
}
