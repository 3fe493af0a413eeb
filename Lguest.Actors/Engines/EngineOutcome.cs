namespace Lguest.Actors.Engines;

/// <summary>Why <see cref="IGuestEngine.Run"/> returned.</summary>
public abstract record EngineOutcome
{
    private EngineOutcome()
    {
    }

    /// <summary>The guest did LHCALL_NOTIFY on an address no eventfd is attached to.</summary>
    public sealed record Notify(ulong Address) : EngineOutcome;

    /// <summary>The guest is dead; the kernel's reason, e.g. "CRASH: Power down" for a clean power-off.</summary>
    public sealed record Died(string Reason) : EngineOutcome
    {
        /// <summary>A guest that powered itself off died on purpose: the launcher exits 0, not 1.</summary>
        public bool IsPowerOff => Reason.EndsWith("Power down", StringComparison.Ordinal);
    }

    /// <summary>The guest asked to be rebooted (ERESTART).</summary>
    public sealed record Restart : EngineOutcome;

    /// <summary><see cref="IGuestEngine.Stop"/> was called.</summary>
    public sealed record Stopped : EngineOutcome;
}
