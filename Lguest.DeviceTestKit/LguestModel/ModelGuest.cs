using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit.LguestModel;

/// <summary>
/// One initialized guest in the model: the kernel's struct lguest and its one lg_cpu, with the simulated guest as
/// its CPU. In the kernel the guest runs inside the launcher's read(); here it runs on a thread of its own, gated so
/// that it only makes progress through a hypercall while that read is in progress, and is parked at an unmatched
/// NOTIFY until the next read, exactly as the launcher sees it. The read's loop follows run_guest(): a dead guest
/// ends it (ENOENT, or ERESTART for a reboot), then a pending notify (NOTIFY word), then a pending signal (EINTR).
/// </summary>
internal sealed class ModelGuest : ISimulatedHypervisor, IDisposable
{
    private readonly object _gate = new();
    private readonly Action<ISimulatedHypervisor> _program;
    private readonly CancellationTokenSource _closed = new();
    private Thread? _cpu;
    private bool _inRead;
    private bool _signalPending;
    private ulong _pendingNotify;
    private uint _pendingInterrupts;
    private string? _deathReason;
    private bool _rebootRequested;

    public ModelGuest(Action<ISimulatedHypervisor> program, GuestMemory memory, ulong guestLimit, ulong entryPoint, int task, int eventFdLimit)
    {
        _program = program;
        Memory = memory;
        GuestLimit = guestLimit;
        EntryPoint = entryPoint;
        Task = task;
        EventFds = new EventFdTable(eventFdLimit);
    }

    /// <summary>The task LHREQ_INITIALIZE came from: cpu->tsk.</summary>
    public int Task { get; }

    public EventFdTable EventFds { get; }

    public GuestMemory Memory { get; }

    public ulong GuestLimit { get; }

    public ulong EntryPoint { get; }

    public CancellationToken Stopping => _closed.Token;

    /// <summary>lg->dead: a reason string, or a reboot request (the kernel's ERR_PTR(-ERESTART)).</summary>
    public bool IsDead
    {
        get
        {
            lock (_gate)
            {
                return _deathReason is not null || _rebootRequested;
            }
        }
    }

    public bool RebootRequested
    {
        get
        {
            lock (_gate)
            {
                return _rebootRequested;
            }
        }
    }

    public string? DeathReason
    {
        get
        {
            lock (_gate)
            {
                return _deathReason;
            }
        }
    }

    /// <summary>
    /// The body of read() once the checks have passed: runs the guest until something interesting happens. Returns
    /// the notify address, or -errno.
    /// </summary>
    public long Run(out ulong notify)
    {
        notify = 0;
        lock (_gate)
        {
            // "If we returned from read() last time because the Guest sent I/O, clear the flag": this releases a
            // guest parked at its NOTIFY.
            _pendingNotify = 0;
            _inRead = true;
            _signalPending = false;
            if (_cpu is null)
            {
                _cpu = new Thread(RunProgram) { IsBackground = true, Name = "lguest model guest cpu" };
                _cpu.Start();
            }
            Monitor.PulseAll(_gate);
            try
            {
                while (true)
                {
                    if (_rebootRequested)
                    {
                        return -Errno.ERESTART;
                    }
                    if (_deathReason is not null)
                    {
                        return -Errno.ENOENT;
                    }
                    if (_pendingNotify != 0)
                    {
                        notify = _pendingNotify;
                        return 0;
                    }
                    if (_signalPending)
                    {
                        _signalPending = false;
                        return -Errno.EINTR;
                    }
                    Monitor.Wait(_gate);
                }
            }
            finally
            {
                _inRead = false;
            }
        }
    }

    /// <summary>A signal to the guest's task: it interrupts a read in progress; otherwise it is spent in user space.</summary>
    public void Signal()
    {
        lock (_gate)
        {
            if (_inRead)
            {
                _signalPending = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>LHREQ_IRQ: set_interrupt() marks the line and wakes the guest.</summary>
    public void RaiseInterrupt(uint irq)
    {
        lock (_gate)
        {
            _pendingInterrupts |= 1u << (int)irq;
            Monitor.PulseAll(_gate);
        }
    }

    void ISimulatedHypervisor.Notify(ulong address)
    {
        lock (_gate)
        {
            WaitUntilRunning();
        }
        // send_notify_to_eventfd: a match wakes the queue's thread and the guest runs on without the launcher.
        if (address != 0 && EventFds.TrySignal(address))
        {
            return;
        }
        lock (_gate)
        {
            _pendingNotify = address;
            Monitor.PulseAll(_gate);
            // Parked until the launcher's next read clears the notify and runs us again.
            while (_pendingNotify != 0 || !_inRead)
            {
                WaitOrUnwind();
            }
        }
    }

    bool ISimulatedHypervisor.WaitForInterrupt(uint irq, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, 32u);
        uint bit = 1u << (int)irq;
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            // A halted guest takes its interrupt only while it is running, that is inside the launcher's read.
            while ((_pendingInterrupts & bit) == 0 || !_inRead)
            {
                Stopping.ThrowIfCancellationRequested();
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
            }
            _pendingInterrupts &= ~bit;
            return true;
        }
    }

    uint ISimulatedHypervisor.TakePendingInterrupts()
    {
        lock (_gate)
        {
            WaitUntilRunning();
            uint pending = _pendingInterrupts;
            _pendingInterrupts = 0;
            return pending;
        }
    }

    /// <summary>LHCALL_SHUTDOWN: kill_guest(cpu, "CRASH: %s", msg) with the guest's own "Power down".</summary>
    void ISimulatedHypervisor.PowerOff() => Halt("CRASH: Power down", reboot: false);

    /// <summary>LHCALL_SHUTDOWN with LGUEST_SHUTDOWN_RESTART: lg->dead = ERR_PTR(-ERESTART).</summary>
    void ISimulatedHypervisor.Reboot() => Halt(null, reboot: true);

    void ISimulatedHypervisor.Panic(string reason) => Halt($"CRASH: {reason}", reboot: false);

    /// <summary>close(): the guest is torn down; its CPU unwinds at its next hypercall.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_closed.IsCancellationRequested)
            {
                return;
            }
            _closed.Cancel();
            Monitor.PulseAll(_gate);
        }
        _cpu?.Join();
        EventFds.Dispose();
        Memory.Dispose();
        _closed.Dispose();
    }

    private void Halt(string? reason, bool reboot)
    {
        lock (_gate)
        {
            WaitUntilRunning();
            if (_deathReason is null && !_rebootRequested)
            {
                _deathReason = reason;
                _rebootRequested = reboot;
            }
            Monitor.PulseAll(_gate);
        }
        throw new GuestHaltedException();
    }

    /// <summary>The guest only executes while the launcher is in read(): a hypercall outside one waits for it.</summary>
    private void WaitUntilRunning()
    {
        while (!_inRead)
        {
            WaitOrUnwind();
        }
    }

    private void WaitOrUnwind()
    {
        Stopping.ThrowIfCancellationRequested();
        Monitor.Wait(_gate, TimeSpan.FromMilliseconds(50));
        Stopping.ThrowIfCancellationRequested();
    }

    private void RunProgram()
    {
        string? death = null;
        try
        {
            _program(this);
            death = "CRASH: the guest returned from its entry point";
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
            death = $"CRASH: {e.GetType().Name}: {e.Message}";
        }
        if (death is not null)
        {
            lock (_gate)
            {
                _deathReason ??= _rebootRequested ? null : death;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Unwinds the guest's CPU thread after a SHUTDOWN hypercall; nothing runs after it.</summary>
    private sealed class GuestHaltedException : Exception
    {
    }
}
