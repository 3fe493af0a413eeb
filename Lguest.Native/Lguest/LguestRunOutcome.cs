namespace Lguest.Native.Lguest;

/// <summary>Why a read of /dev/lguest came back: the only three things the host ever says.</summary>
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
}
