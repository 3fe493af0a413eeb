using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Net.Switch;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>The frame path allocates nothing once its buffers exist: learning, lookup, flooding, queueing and counting.</summary>
public sealed class ForwardingAllocationTests
{
    [Fact]
    public void Forwarding_a_frame_allocates_nothing_in_the_steady_state()
    {
        using var network = new NetworkSwitch(new SwitchSettings("alloc", 64, TimeSpan.FromMinutes(5), 8));
        SwitchPort a = network.AddPort("a"), b = network.AddPort("b"), c = network.AddPort("c");
        foreach (SwitchPort port in new[] { a, b, c })
        {
            port.Attach(0);
        }
        byte[] toB = Frame([0x02, 0, 0, 0, 0, 0x0b], [0x02, 0, 0, 0, 0, 0x0a]);
        byte[] broadcast = Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x02, 0, 0, 0, 0, 0x0b]);
        byte[] unknown = Frame([0x02, 0, 0, 0, 0, 0x77], [0x02, 0, 0, 0, 0, 0x0c]);

        RunFrames(network, a, b, c, toB, broadcast, unknown, 100); // buffers, table entries, JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunFrames(network, a, b, c, toB, broadcast, unknown, 10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // 30,000 frames: one allocation per frame would be at least 720 KB. The runtime may allocate a few bytes once
        // (tiering), which is not the frame path's doing.
        Assert.True(allocated < 1024, $"{allocated} bytes allocated forwarding 30,000 frames");
        // Per round a gets the broadcast and the unknown unicast, b the unicast and the unknown one, c the broadcast.
        Assert.Equal(2 * 10_100, a.Counters.Snapshot().TxFrames);
        Assert.Equal(2 * 10_100, b.Counters.Snapshot().TxFrames);
        Assert.Equal(10_100, c.Counters.Snapshot().TxFrames);
        Assert.Equal(0, c.Counters.Snapshot().Dropped(SwitchDropReason.QueueFull));
    }

    /// <summary>Each round: a known unicast a to b, a broadcast from b, an unknown unicast from c; every queue then emptied.</summary>
    private static void RunFrames(NetworkSwitch network, SwitchPort a, SwitchPort b, SwitchPort c, byte[] toB, byte[] broadcast, byte[] unknown, int rounds)
    {
        SwitchPort[] ports = [a, b, c];
        for (int i = 0; i < rounds; i++)
        {
            network.Forward(b, new BufferFrame(broadcast, broadcast.Length, 10));
            network.Forward(a, new BufferFrame(toB, toB.Length, 10));
            network.Forward(c, new BufferFrame(unknown, unknown.Length, 10));
            foreach (SwitchPort port in ports)
            {
                while (port.Inbound.TryPeek(out FrameSlot slot))
                {
                    port.Counters.Delivered(slot.Length - slot.HeaderSize);
                    port.Inbound.Release(slot);
                }
            }
        }
    }

    private static byte[] Frame(byte[] destination, byte[] source)
    {
        byte[] frame = new byte[10 + 60];
        destination.CopyTo(frame, 10);
        source.CopyTo(frame, 16);
        return frame;
    }
}
