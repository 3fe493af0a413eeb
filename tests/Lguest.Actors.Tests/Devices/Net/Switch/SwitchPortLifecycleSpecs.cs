using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Net.Switch;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Rig;
using Lguest.DeviceTestKit.Virtqueue;
using Xunit.Abstractions;
using static Lguest.Actors.Tests.Devices.Net.Switch.SwitchSegment;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>
/// Ports that stop taking frames, go away, come back or break the ring rules: the others keep forwarding, and
/// the counters say what happened to every frame.
/// </summary>
public sealed class SwitchPortLifecycleSpecs(ITestOutputHelper output) : TestKit(DeviceRig.AkkaConfig, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_stalled_port_drops_and_counts_while_two_others_lose_nothing()
    {
        const int PortQueue = 32;
        const int Rounds = 500;
        const int BroadcastEvery = 5;
        using var segment = new SwitchSegment(portQueue: PortQueue);
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network));
        byte[][] mac = segment.Macs;
        int floodsToC = 2 + (Rounds / BroadcastEvery);
        long accountedForC = -1;
        var outOfOrder = new List<string>();

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment); // c's guest never reads a frame from here on
            nic[0].Send(Frame(Broadcast, mac[0], 0));
            Expect(nic[1], "b: a's broadcast", Patience);
            nic[1].Send(Frame(Broadcast, mac[1], 0));
            Expect(nic[0], "a: b's broadcast", Patience);
            for (int i = 1; i <= Rounds; i++)
            {
                nic[0].Send(Frame(mac[1], mac[0], i));
                Check(outOfOrder, "b", i, Expect(nic[1], $"b: frame {i}", Patience));
                nic[1].Send(Frame(mac[0], mac[1], i));
                Check(outOfOrder, "a", i, Expect(nic[0], $"a: frame {i}", Patience));
                if (i % BroadcastEvery == 0)
                {
                    nic[0].Send(Frame(Broadcast, mac[0], -i));
                    Check(outOfOrder, "b", -i, Expect(nic[1], $"b: broadcast {i}", Patience));
                }
            }
            // Every frame for c was either delivered, is waiting, or was dropped: nothing is lost uncounted. The last
            // broadcast reaches b before the sender's flood loop has come to c, so the count may be one short for a
            // moment; it must settle at the number sent, and never pass it.
            SwitchPort c = segment.Ports[2];
            SpinWait.SpinUntil(() => AccountedFor(c) >= floodsToC, Patience);
            accountedForC = AccountedFor(c);
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Empty(outOfOrder);
        Assert.Equal(floodsToC, accountedForC);
        SwitchProtocol.SwitchState state = await StateAsync(switchActor);
        SwitchPortSnapshot a = state.Port("a").Counters, b = state.Port("b").Counters, stalled = state.Port("c").Counters;
        Assert.Equal(Rounds + 1, a.TxFrames);
        Assert.Equal(Rounds + 1 + (Rounds / BroadcastEvery), b.TxFrames);
        Assert.All(new[] { a, b }, port => Assert.All(port.Drops.Values, count => Assert.Equal(0, count)));
        // c's guest gave 16 receive buffers and then stopped: beyond those and its queue, frames to it were dropped.
        Assert.InRange(stalled.TxFrames, 1, 16);
        Assert.True(stalled.Dropped(SwitchDropReason.QueueFull) >= floodsToC - 16 - PortQueue,
            $"only {stalled.Dropped(SwitchDropReason.QueueFull)} frames to the stalled port were dropped");
    }

    private static long AccountedFor(SwitchPort port)
    {
        SwitchPortSnapshot counters = port.Counters.Snapshot();
        return counters.TxFrames + port.Inbound.Count + counters.Dropped(SwitchDropReason.QueueFull);
    }

    [Fact]
    public async Task A_guest_that_resets_its_card_is_detached_and_its_return_reattaches_the_port()
    {
        using var segment = new SwitchSegment();
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network));
        byte[][] mac = segment.Macs;
        var receivedByC = new List<int>();
        int receivedByReturnedA = -1, receivedByB = -1;

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment);
            nic[0].Send(Frame(Broadcast, mac[0], 1));
            Expect(nic[1], "b: a's broadcast", Patience);
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: a's broadcast", Patience)));

            nic[0].Device.SetStatus(guest.Hv, 0); // virtio reset: a's driver unbinds
            segment.WaitAttached(Patience, false, segment.Ports[0]);
            nic[1].Send(Frame(mac[0], mac[1], 2)); // a's address went with it: flooded, to c only
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: frame 2", Patience)));

            var returned = new NetDriver(guest.Hv, guest.Heap, nic[0].Device, guest.Timeout);
            segment.WaitAttached(Patience, true, segment.Ports[0]);
            nic[1].Send(Frame(mac[0], mac[1], 3));
            receivedByReturnedA = SequenceOf(Expect(returned, "a, back: frame 3", Patience));
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: frame 3", Patience)));
            returned.Send(Frame(mac[1], mac[0], 4));
            receivedByB = SequenceOf(Expect(nic[1], "b: frame 4 from a, back", Patience));
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal([1, 2, 3], receivedByC);
        Assert.Equal(3, receivedByReturnedA);
        Assert.Equal(4, receivedByB);
        SwitchProtocol.PortState a = (await StateAsync(switchActor)).Port("a");
        Assert.Equal(2, a.Attachments);
        Assert.Equal(1, a.Counters.TxFrames); // frame 2 was never queued for the detached port
    }

    [Fact]
    public async Task A_port_that_breaks_the_ring_rules_is_restarted_by_policy_while_the_others_keep_forwarding()
    {
        using var segment = new SwitchSegment();
        segment.Rig.Settings = segment.Rig.Settings with
        {
            Supervision = new SupervisionSettings(GuestErrorPolicy.RestartDevice, MaxRestarts: 3, TimeSpan.FromMinutes(1)),
        };
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network));
        byte[][] mac = segment.Macs;
        var receivedByC = new List<int>();
        int receivedByRestartedA = -1;
        bool neededReset = false;

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment);
            // A transmit chain with a device-writable buffer: the device cannot send it, the ring rules are broken.
            ulong bad = guest.Heap.Allocate(64);
            nic[0].Output.Add([new DriverBuffer(bad, 64, DeviceWritable: true)]);
            nic[0].Output.KickAlways();
            DateTime deadline = DateTime.UtcNow + Patience;
            while (!RigGuest.NeedsReset(nic[0].Device) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(1);
            }
            neededReset = RigGuest.NeedsReset(nic[0].Device);
            segment.WaitAttached(Patience, false, segment.Ports[0]);

            for (int i = 1; i <= 20; i++)
            {
                nic[1].Send(Frame(mac[2], mac[1], i));
                receivedByC.Add(SequenceOf(Expect(nic[2], $"c: frame {i} while a restarts", Patience)));
            }

            nic[0].Device.SetStatus(guest.Hv, 0); // what a driver does on DEVICE_NEEDS_RESET
            var restarted = new NetDriver(guest.Hv, guest.Heap, nic[0].Device, guest.Timeout);
            segment.WaitAttached(Patience, true, segment.Ports[0]);
            nic[1].Send(Frame(mac[0], mac[1], 21));
            receivedByRestartedA = SequenceOf(Expect(restarted, "a, restarted: frame 21", Patience));
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.True(neededReset, "the device never asked for a reset");
        Assert.Equal(Enumerable.Range(1, 20), receivedByC.Take(20));
        Assert.Equal(21, receivedByRestartedA);
        Assert.Equal(2, (await StateAsync(switchActor)).Port("a").Attachments);
    }

    private static void Check(List<string> problems, string port, int expected, byte[] frame)
    {
        int got = SequenceOf(frame);
        if (got != expected)
        {
            problems.Add($"{port}: expected frame {expected}, got {got}");
        }
    }
}
