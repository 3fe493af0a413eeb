using Lguest.Actors.Engines;
using Lguest.Actors.Queues;

namespace Lguest.Actors.Launcher;

/// <summary>A queue's interrupt delivered through the engine: LHREQ_IRQ on the queue's line.</summary>
internal sealed class EngineInterruptLine(IGuestEngine engine, uint irq) : IInterruptLine
{
    public void Raise() => engine.Interrupt(irq);
}
