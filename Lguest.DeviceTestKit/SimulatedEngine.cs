using System.Collections.Concurrent;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit.LguestModel;
using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit;

/// <summary>
/// An in-process switcher: the guest is a library running on a thread of its own (its "CPU"), and this class is the
/// host kernel between it and the launcher. As with /dev/lguest, a NOTIFY for an address with an attached eventfd
/// signals the eventfd and the guest runs on (the table is the kernel's: append-only, first match wins); any other NOTIFY pauses the guest and is returned from
/// <see cref="Run"/>, and the guest continues when the launcher calls <see cref="Run"/> again.
/// </summary>
public sealed class SimulatedEngine : IGuestEngine, ISimulatedHypervisor
{
    private readonly Action<ISimulatedHypervisor> _guest;
    private readonly EventFdTable _eventfds = new();
    private readonly BlockingCollection<EngineOutcome> _outcomes = new();
    private readonly SemaphoreSlim _resume = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _interruptLock = new();
    private uint _pendingInterrupts;
    private Thread? _cpu;
    private bool _pausedAtNotify;
    private EngineOutcome? _final;
    private int _disposed;
    private GuestMemory? _memory;

    /// <param name="settings">The simulated section of the configuration.</param>
    /// <param name="guest">The guest program; the default is <see cref="SimulatedLinux"/>.</param>
    public SimulatedEngine(SimulatedSettings settings, Action<ISimulatedHypervisor>? guest = null)
    {
        _guest = guest ?? ((ISimulatedHypervisor hv) => new SimulatedLinux(hv, settings).Boot());
    }

    public string Name => "simulated";

    public GuestMemory Memory => _memory ?? throw new InvalidOperationException("the engine is not initialized");

    public ulong GuestLimit { get; private set; }

    public ulong EntryPoint { get; private set; }

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>How many interrupts the launcher raised: tests check suppression with it.</summary>
    public long InterruptsRaised => Interlocked.Read(ref _interruptsRaised);

    private long _interruptsRaised;

    public void Initialize(GuestMemory memory, ulong guestLimit, ulong entryPoint)
    {
        _memory = memory;
        GuestLimit = guestLimit;
        EntryPoint = entryPoint;
    }

    public void AttachEventFd(ulong notifyAddress, EventFd kick)
    {
        ArgumentNullException.ThrowIfNull(kick);
        if (notifyAddress == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(notifyAddress), "address 0 cannot be attached (as /dev/lguest refuses it)");
        }
        int result = _eventfds.Add(notifyAddress, kick.Descriptor);
        if (result < 0)
        {
            throw new SystemCallException($"attach eventfd to notify address 0x{notifyAddress:x}", -result);
        }
    }

    public void Interrupt(uint irq)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, 32u);
        Interlocked.Increment(ref _interruptsRaised);
        lock (_interruptLock)
        {
            _pendingInterrupts |= 1u << (int)irq;
            Monitor.PulseAll(_interruptLock);
        }
    }

    public EngineOutcome Run()
    {
        if (_memory is null)
        {
            throw new InvalidOperationException("Run before Initialize");
        }
        if (_stopping.IsCancellationRequested)
        {
            return new EngineOutcome.Stopped();
        }
        if (_final is not null)
        {
            // The guest is gone; asking again gets the same answer, as a dead /dev/lguest guest keeps failing.
            return _final;
        }
        if (_cpu is null)
        {
            _cpu = new Thread(RunGuest) { IsBackground = true, Name = "simulated guest cpu" };
            _cpu.Start();
        }
        else if (_pausedAtNotify)
        {
            _pausedAtNotify = false;
            _resume.Release();
        }

        try
        {
            EngineOutcome outcome = _outcomes.Take(_stopping.Token);
            _pausedAtNotify = outcome is EngineOutcome.Notify;
            if (!_pausedAtNotify)
            {
                _final = outcome;
            }
            return outcome;
        }
        catch (OperationCanceledException)
        {
            return new EngineOutcome.Stopped();
        }
    }

    public void Stop()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            _stopping.Cancel();
        }
    }

    /// <summary>Stops the guest and joins its CPU thread: every hypercall it makes after a stop unwinds it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        _cpu?.Join();
        _eventfds.Dispose();
        _outcomes.Dispose();
        _resume.Dispose();
        _stopping.Dispose();
    }

    void ISimulatedHypervisor.Notify(ulong address)
    {
        Stopping.ThrowIfCancellationRequested();
        if (_eventfds.TrySignal(address))
        {
            return;
        }
        _outcomes.Add(new EngineOutcome.Notify(address));
        _resume.Wait(Stopping);
    }

    bool ISimulatedHypervisor.WaitForInterrupt(uint irq, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, 32u);
        uint bit = 1u << (int)irq;
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_interruptLock)
        {
            while ((_pendingInterrupts & bit) == 0)
            {
                Stopping.ThrowIfCancellationRequested();
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }
                // Wake at least every 50 ms to notice a stop.
                Monitor.Wait(_interruptLock, left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
            }
            _pendingInterrupts &= ~bit;
            return true;
        }
    }

    uint ISimulatedHypervisor.TakePendingInterrupts()
    {
        lock (_interruptLock)
        {
            uint pending = _pendingInterrupts;
            _pendingInterrupts = 0;
            return pending;
        }
    }

    void ISimulatedHypervisor.PowerOff() => Halt(new EngineOutcome.Died("CRASH: Power down"));

    void ISimulatedHypervisor.Reboot() => Halt(new EngineOutcome.Restart());

    void ISimulatedHypervisor.Panic(string reason) => Halt(new EngineOutcome.Died($"CRASH: {reason}"));

    private void Halt(EngineOutcome outcome)
    {
        _outcomes.Add(outcome);
        throw new GuestHaltedException();
    }

    private void RunGuest()
    {
        try
        {
            _guest(this);
            _outcomes.Add(new EngineOutcome.Died("CRASH: the guest returned from its entry point"));
        }
        catch (GuestHaltedException)
        {
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A bug or a detected inconsistency in the guest: Linux would panic.
            _outcomes.Add(new EngineOutcome.Died($"CRASH: {e.GetType().Name}: {e.Message}"));
        }
    }

    /// <summary>Unwinds the guest's CPU thread after a SHUTDOWN hypercall; nothing runs after it.</summary>
    private sealed class GuestHaltedException : Exception
    {
    }
}
