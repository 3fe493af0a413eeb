namespace Lguest.Native.Lguest;

/// <summary>
/// The words written to /dev/lguest. The host reads them as its own unsigned long, so they are native words:
/// 4 bytes on the 32-bit hosts lguest ran on, 8 in a 64-bit build. Pure, so the encodings can be checked without a host.
/// </summary>
internal static class LguestRequest
{
    /// <summary>Where guest memory starts in our address space, the first page frame it may not touch, and where it starts running.</summary>
    public static nuint[] Initialize(nuint guestBase, nuint pageLimit, nuint entry)
        => [LguestAbi.LHREQ_INITIALIZE, guestBase, pageLimit, entry];

    /// <summary>Raise line <paramref name="irq"/> in the guest.</summary>
    public static nuint[] Interrupt(uint irq)
    {
        if (irq >= LguestAbi.IrqLines)
        {
            throw new ArgumentOutOfRangeException(nameof(irq), irq, $"the guest has {LguestAbi.IrqLines} interrupt lines");
        }
        return [LguestAbi.LHREQ_IRQ, irq];
    }

    /// <summary>Have the host signal <paramref name="eventFd"/> itself when the guest notifies <paramref name="notifyAddress"/>.</summary>
    public static nuint[] AttachEventFd(ulong notifyAddress, int eventFd)
    {
        if (notifyAddress == 0)
        {
            // The host uses 0 to mark an empty slot in its table, so it refuses to attach there.
            throw new ArgumentOutOfRangeException(nameof(notifyAddress), "the host refuses notify address 0");
        }
        if (notifyAddress > nuint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(notifyAddress), notifyAddress, "wider than the host's unsigned long");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(eventFd);
        return [LguestAbi.LHREQ_EVENTFD, (nuint)notifyAddress, (nuint)eventFd];
    }
}
