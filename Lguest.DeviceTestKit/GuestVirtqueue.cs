using System.Diagnostics;
using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>
/// A driver's view of one queue: the ring (Linux's virtio_ring, here <see cref="SplitRingDriver"/>, written from
/// the spec), the line its interrupts arrive on, and the address lg_notify kicks. Waiting for a completion sleeps on the interrupt but also
/// looks at the used ring every few milliseconds, because a device may rightly stay silent (EVENT_IDX, or
/// NO_INTERRUPT while the driver polls), and a lost wakeup must cost a moment, not the whole timeout.
/// </summary>
public sealed class GuestVirtqueue
{
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(2);
    private readonly ISimulatedHypervisor _hv;

    public GuestVirtqueue(ISimulatedHypervisor hv, SplitRingDriver queue, VirtqueueConfig config, string name, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(hv);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(config);
        _hv = hv;
        Queue = queue;
        Config = config;
        Name = name;
        Timeout = timeout;
    }

    /// <summary>The ring itself, for tests that craft what no honest driver would.</summary>
    public SplitRingDriver Queue { get; }

    public VirtqueueConfig Config { get; }

    public string Name { get; }

    public TimeSpan Timeout { get; }

    public ushort Size => Queue.Size;

    public uint Irq => Config.Irq;

    public ulong RingAddress => Config.RingAddress;

    /// <summary>How many kicks this queue sent: tests check notification suppression with it.</summary>
    public int Kicks { get; private set; }

    public ushort Add(ReadOnlySpan<DriverBuffer> buffers) => Queue.AddBuffer(buffers);

    public ushort AddIndirect(ReadOnlySpan<DriverBuffer> buffers, ulong table) => Queue.AddIndirectBuffer(buffers, table);

    /// <summary>virtqueue_kick: notify the device only when the ring says it wants one.</summary>
    public void Kick()
    {
        if (Queue.KickNeeded())
        {
            KickAlways();
        }
    }

    /// <summary>LHCALL_NOTIFY on the ring's address, whatever the device asked for.</summary>
    public void KickAlways()
    {
        Kicks++;
        _hv.Notify(RingAddress);
    }

    /// <summary>Collects one completion if there is one; a device handing back a head not in flight is fatal.</summary>
    public bool TryTakeUsed(out ushort head, out uint length)
    {
        try
        {
            return Queue.TryGetUsed(out head, out length);
        }
        catch (InvalidOperationException e)
        {
            throw new SimulatedGuestException($"{Name}: {e.Message}", e);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> (the settings' interrupt timeout by default) for a completion.</summary>
    public bool WaitForUsed(out ushort head, out uint length, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? Timeout;
        while (true)
        {
            if (TryTakeUsed(out head, out length))
            {
                return true;
            }
            TimeSpan left = limit - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }
            _hv.WaitForInterrupt(Irq, left < PollSlice ? left : PollSlice);
        }
    }

    /// <summary>Like <see cref="WaitForUsed"/>, but a device that never answers is fatal, as a hung request is.</summary>
    public (ushort Head, uint Length) WaitForUsedOrFail(string what)
    {
        if (!WaitForUsed(out ushort head, out uint length))
        {
            throw new SimulatedGuestException($"{Name}: no answer to {what} within {Timeout.TotalMilliseconds:0} ms");
        }
        return (head, length);
    }
}
