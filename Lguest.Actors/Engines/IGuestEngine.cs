using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Actors.Engines;

/// <summary>
/// The guest's CPU, seen from the launcher: what /dev/lguest was to the seed. The launcher lays out memory,
/// then hands the engine the memory and entry point; one dedicated thread calls <see cref="Run"/> in a loop.
/// Kicks for a queue with an attached eventfd go straight to that eventfd and never reach <see cref="Run"/>.
/// </summary>
public interface IGuestEngine : IDisposable
{
    /// <summary>"lguest" or "simulated": what --verbose and the logs call it.</summary>
    string Name { get; }

    /// <summary>
    /// LHREQ_INITIALIZE: the guest's memory, the first address past what it may touch (RAM plus device pages),
    /// and where to start executing.
    /// </summary>
    void Initialize(GuestMemory memory, ulong guestLimit, ulong entryPoint);

    /// <summary>LHREQ_EVENTFD: kicks on <paramref name="notifyAddress"/> now signal <paramref name="kick"/>.</summary>
    void AttachEventFd(ulong notifyAddress, EventFd kick);

    /// <summary>LHREQ_IRQ: raise interrupt line <paramref name="irq"/> in the guest.</summary>
    void Interrupt(uint irq);

    /// <summary>Runs the guest until it needs the launcher: a NOTIFY, its death, or a reboot request.</summary>
    EngineOutcome Run();

    /// <summary>Makes a blocked <see cref="Run"/> return (as <see cref="EngineOutcome.Stopped"/>) so the launcher can shut down.</summary>
    void Stop();
}
