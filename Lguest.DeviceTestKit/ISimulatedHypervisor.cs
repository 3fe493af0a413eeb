using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit;

/// <summary>
/// What a simulated guest can see and do, and no more than a real lguest guest could: its memory, the hypercalls
/// (NOTIFY, SHUTDOWN), and its interrupt lines. Everything else it learns from memory, as Linux does.
/// </summary>
public interface ISimulatedHypervisor
{
    GuestMemory Memory { get; }

    /// <summary>The first address past RAM and device pages (what LHREQ_INITIALIZE was told).</summary>
    ulong GuestLimit { get; }

    ulong EntryPoint { get; }

    /// <summary>LHCALL_NOTIFY: a queue kick or status change; with no eventfd attached, the launcher handles it while the guest waits.</summary>
    void Notify(ulong address);

    /// <summary>
    /// Waits until interrupt line <paramref name="irq"/> is raised and acknowledges it; false after
    /// <paramref name="timeout"/>. Interrupts raised while nobody waited are remembered, as a real APIC would.
    /// </summary>
    bool WaitForInterrupt(uint irq, TimeSpan timeout);

    /// <summary>Clears and returns the interrupt lines raised since the last call (a driver polling with interrupts off).</summary>
    uint TakePendingInterrupts();

    /// <summary>LHCALL_SHUTDOWN with LGUEST_SHUTDOWN_POWEROFF: the launcher sees the guest die with "CRASH: Power down".</summary>
    void PowerOff();

    /// <summary>LHCALL_SHUTDOWN with LGUEST_SHUTDOWN_RESTART.</summary>
    void Reboot();

    /// <summary>A guest-detected fatal error (a kernel panic): the launcher sees it die with this reason.</summary>
    void Panic(string reason);

    /// <summary>Cancelled when the launcher stops the engine; hypercalls then unwind the guest.</summary>
    CancellationToken Stopping { get; }
}
