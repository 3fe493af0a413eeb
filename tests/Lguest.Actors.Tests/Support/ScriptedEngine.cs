using System.Collections.Concurrent;
using Lguest.Actors.Engines;
using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Actors.Tests.Support;

/// <summary>
/// An engine whose guest is the test: it hands the run loop whatever outcomes the test feeds it, and records what
/// the launcher asked of the "host kernel" (eventfds, interrupts). Each Run after the first means the launcher has
/// finished with the previous outcome, which is how a test knows a NOTIFY was handled.
/// </summary>
internal sealed class ScriptedEngine : IGuestEngine
{
    private readonly BlockingCollection<EngineOutcome> _outcomes = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _runs = new(0);

    public string Name => "scripted";

    public GuestMemory? Memory { get; private set; }

    public ulong GuestLimit { get; private set; }

    public ulong EntryPoint { get; private set; }

    public ConcurrentDictionary<ulong, EventFd> EventFds { get; } = new();

    public ConcurrentQueue<uint> Interrupts { get; } = new();

    public bool Disposed { get; private set; }

    public void Initialize(GuestMemory memory, ulong guestLimit, ulong entryPoint)
    {
        Memory = memory;
        GuestLimit = guestLimit;
        EntryPoint = entryPoint;
    }

    /// <summary>Every LHREQ_EVENTFD the launcher made, in order: the kernel's table keeps them all.</summary>
    public ConcurrentQueue<ulong> Attachments { get; } = new();

    /// <summary>Keeps the first eventfd for an address, as the kernel's first-match table delivers to it.</summary>
    public void AttachEventFd(ulong notifyAddress, EventFd kick)
    {
        Attachments.Enqueue(notifyAddress);
        EventFds.TryAdd(notifyAddress, kick);
    }

    public void Interrupt(uint irq) => Interrupts.Enqueue(irq);

    public EngineOutcome Run()
    {
        _runs.Release();
        try
        {
            return _outcomes.Take(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return new EngineOutcome.Stopped();
        }
    }

    public void Stop() => _stop.Cancel();

    public void Dispose()
    {
        Stop();
        Disposed = true;
    }

    /// <summary>Hands the launcher an outcome, as the host kernel would on a hypercall.</summary>
    public void Feed(EngineOutcome outcome) => _outcomes.Add(outcome);

    /// <summary>Waits until the launcher calls Run again: the previous outcome has been handled.</summary>
    public bool WaitForRun(TimeSpan timeout) => _runs.Wait(timeout);

    /// <summary>Feeds a NOTIFY and waits until the launcher has handled it and resumed the guest.</summary>
    public void NotifyAndWait(ulong address)
    {
        Feed(new EngineOutcome.Notify(address));
        if (!WaitForRun(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"the launcher did not resume the guest after NOTIFY 0x{address:x}");
        }
    }
}
