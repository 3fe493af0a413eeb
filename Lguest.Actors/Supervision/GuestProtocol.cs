namespace Lguest.Actors.Supervision;

/// <summary>The guest actor's report to the launcher: the guest is over, and this is how the process should end.</summary>
internal sealed record GuestFinished(LauncherExit Exit);

/// <summary>Thrown inside the guest actor when the guest asks for a reboot, so that supervision restarts it afresh.</summary>
internal sealed class GuestRebootRequestedException : Exception
{
    public GuestRebootRequestedException()
        : base("the guest asked for a reboot")
    {
    }
}

/// <summary>A guest that broke the launcher's own rules (a bad NOTIFY): the seed's errx, as an exception supervision sees.</summary>
internal sealed class GuestViolationException : Exception
{
    public GuestViolationException(string message)
        : base(message)
    {
    }
}
