using Lguest.Native.Interop;
using Lguest.Native.Lguest;
using Lguest.Native.Memory;

namespace Lguest.Actors.Engines.DevLguest;

/// <summary>
/// The real thing: /dev/lguest, exact to its ABI. The host kernel switches to the guest inside <see cref="Run"/>
/// and comes back with a NOTIFY, a death, or a reboot request. It only ever existed on 32-bit x86 hosts before
/// Linux 4.14; <see cref="LguestChannel.Open"/> says so when the device is missing.
/// </summary>
internal sealed class LguestEngine(LguestChannel channel) : IGuestEngine
{
    private volatile bool _stopping;

    public string Name => "lguest";

    public void Initialize(GuestMemory memory, ulong guestLimit, ulong entryPoint)
    {
        GuestMemoryRegion region = memory.Regions[0];
        if (memory.Regions.Count != 1 || region.GuestPhysicalAddress != 0)
        {
            throw new ArgumentException("lguest needs guest memory as one region at guest-physical 0", nameof(memory));
        }
        channel.Initialize((nuint)region.HostAddress, (nuint)(guestLimit / LguestAbi.PageSize), (nuint)entryPoint);
    }

    public void AttachEventFd(ulong notifyAddress, EventFd kick) => channel.AttachEventFd(notifyAddress, kick);

    public void Interrupt(uint irq) => channel.Interrupt(irq);

    public EngineOutcome Run()
    {
        try
        {
            return channel.Run() switch
            {
                LguestRunOutcome.Notify n => new EngineOutcome.Notify(n.Address),
                LguestRunOutcome.Died d => new EngineOutcome.Died(d.Reason),
                LguestRunOutcome.Restart => new EngineOutcome.Restart(),
                _ => throw new InvalidOperationException("unknown lguest outcome"),
            };
        }
        catch (SystemCallException) when (_stopping)
        {
            return new EngineOutcome.Stopped();
        }
    }

    /// <summary>LHREQ_BREAK kicks the guest's CPU out of the host so the blocked read returns.</summary>
    public void Stop()
    {
        _stopping = true;
        try
        {
            channel.Break();
        }
        catch (SystemCallException)
        {
            // Already dead or never started: nothing is running to break out of.
        }
    }

    public void Dispose() => channel.Dispose();
}
