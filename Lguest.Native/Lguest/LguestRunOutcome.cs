namespace Lguest.Native.Lguest;

/// <summary>Why a read of /dev/lguest came back: the three things the guest can cause, and a signal.</summary>
public abstract record LguestRunOutcome
{
    private LguestRunOutcome()
    {
    }

    /// <summary>The guest made LHCALL_NOTIFY: a queue kick or a device status change at <paramref name="Address"/>.</summary>
    public sealed record Notify(ulong Address) : LguestRunOutcome;

    /// <summary>The guest is gone; the host's words on why.</summary>
    public sealed record Died(string Reason) : LguestRunOutcome;

    /// <summary>The guest asked to be rebooted.</summary>
    public sealed record Restart : LguestRunOutcome;

    /// <summary>
    /// A signal was pending (EINTR): the guest is untouched and the next read resumes it. This is the only way to get
    /// a thread out of a running guest; the seed's kernel has no request for it.
    /// </summary>
    public sealed record Interrupted : LguestRunOutcome;
}
