using Lguest.Actors.Engines;
using Lguest.Native.Memory;

namespace Lguest.Actors.Launcher;

/// <summary>
/// What outlives one incarnation of the guest actor across reboots: how many times it has booted, and the memory
/// and engine of the previous incarnation, which may only be released once its queue actors have all stopped.
/// </summary>
public sealed class GuestIncarnation : IDisposable
{
    private readonly List<IDisposable> _remains = [];

    public int Boots { get; internal set; }

    internal void Leave(IGuestEngine? engine, GuestMemory? memory)
    {
        if (engine is not null)
        {
            _remains.Add(engine);
        }
        if (memory is not null)
        {
            _remains.Add(memory);
        }
    }

    /// <summary>Called by the next incarnation: Akka creates it only after the old children have terminated.</summary>
    internal void DisposeRemains()
    {
        foreach (IDisposable remain in _remains)
        {
            remain.Dispose();
        }
        _remains.Clear();
    }

    public void Dispose() => DisposeRemains();
}
