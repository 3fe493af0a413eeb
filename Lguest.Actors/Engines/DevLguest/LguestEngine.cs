using Lguest.Native.Interop;
using Lguest.Native.Lguest;
using Lguest.Native.Memory;

namespace Lguest.Actors.Engines.DevLguest;

/// <summary>
/// The real thing: /dev/lguest. The host kernel switches to the guest inside <see cref="Run"/> and comes back with a
/// NOTIFY, a death, or a reboot request. It only ever existed on 32-bit x86 hosts before Linux 4.14;
/// <see cref="LguestChannel.Open"/> says so when the device is missing. Against a model of the kernel
/// (<see cref="Model.DevLguestModel"/>) the same code runs anywhere.
///
/// The kernel binds the guest to the thread that wrote LHREQ_INITIALIZE and refuses (EPERM) a read from any other,
/// so <see cref="Initialize"/> must be called on the thread that will call <see cref="Run"/>. That thread is also
/// the one <see cref="Stop"/> signals: the kernel has no request that breaks a guest out (LHREQ_BREAK was gone
/// from the seed's kernel), only a pending signal makes its read return.
/// </summary>
internal sealed class LguestEngine(LguestChannel channel) : IGuestEngine
{
    private volatile bool _stopping;
    private LguestTask? _runner;

    public string Name => "lguest";

    public void Initialize(GuestMemory memory, ulong guestLimit, ulong entryPoint)
    {
        GuestMemoryRegion region = memory.Regions[0];
        if (memory.Regions.Count != 1 || region.GuestPhysicalAddress != 0)
        {
            throw new ArgumentException("lguest needs guest memory as one region at guest-physical 0", nameof(memory));
        }
        nint hostAddress = memory.TryGetHostAddress(0, 1, out nint host) ? host : throw new ArgumentException("guest memory has no host address", nameof(memory));
        channel.Initialize((nuint)hostAddress, (nuint)(guestLimit / LguestAbi.PageSize), (nuint)entryPoint);
        _runner = channel.CurrentTask();
    }

    public void AttachEventFd(ulong notifyAddress, EventFd kick) => channel.AttachEventFd(notifyAddress, kick);

    public void Interrupt(uint irq) => channel.Interrupt(irq);

    /// <summary>
    /// Runs the guest; a signal that is not a stop (EINTR with no stop requested) just runs it again, as the seed's
    /// pread would have been restarted.
    /// </summary>
    public EngineOutcome Run()
    {
        try
        {
            while (true)
            {
                if (_stopping)
                {
                    return new EngineOutcome.Stopped();
                }
                switch (channel.Run())
                {
                    case LguestRunOutcome.Notify n:
                        return new EngineOutcome.Notify(n.Address);
                    case LguestRunOutcome.Died d:
                        return new EngineOutcome.Died(d.Reason);
                    case LguestRunOutcome.Restart:
                        return new EngineOutcome.Restart();
                    case LguestRunOutcome.Interrupted:
                        continue;
                }
            }
        }
        catch (Exception e) when (_stopping && e is SystemCallException or ObjectDisposedException)
        {
            return new EngineOutcome.Stopped();
        }
    }

    /// <summary>
    /// Signals the run-loop thread so a read blocked in the guest returns EINTR. A signal that arrives just before the
    /// read starts is spent in user space, so the caller repeats Stop until the run loop has returned.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        if (_runner is { } runner)
        {
            channel.Signal(runner);
        }
    }

    public void Dispose() => channel.Dispose();
}
