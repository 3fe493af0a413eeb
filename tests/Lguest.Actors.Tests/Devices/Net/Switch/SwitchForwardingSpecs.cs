using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Devices.Net.Switch;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Rig;
using Xunit.Abstractions;
using static Lguest.Actors.Tests.Devices.Net.Switch.SwitchSegment;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>
/// The switch as guests on its segment see it: three network cards of one simulated guest, each a port, driven
/// through the TestKit's virtio-net driver. What a guest receives, and what the port counters say, are the checks.
/// </summary>
public sealed class SwitchForwardingSpecs(ITestOutputHelper output) : TestKit(DeviceRig.AkkaConfig, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Broadcast_floods_to_the_others_and_learned_addresses_go_only_to_their_port()
    {
        using var segment = new SwitchSegment();
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network));
        byte[][] mac = segment.Macs;
        byte[] unknown = [0x02, 0, 0, 0, 0, 0x99];
        var receivedByC = new List<int>();
        var receivedByB = new List<int>();
        int receivedByA = -1;

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment);
            nic[0].Send(Frame(Broadcast, mac[0], 1));
            receivedByB.Add(SequenceOf(Expect(nic[1], "b: a's broadcast", Patience)));
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: a's broadcast", Patience)));

            nic[1].Send(Frame(mac[0], mac[1], 2)); // a is known since its broadcast
            receivedByA = SequenceOf(Expect(nic[0], "a: b's unicast", Patience));
            nic[0].Send(Frame(mac[1], mac[0], 3)); // b is known since its unicast
            receivedByB.Add(SequenceOf(Expect(nic[1], "b: a's unicast", Patience)));

            nic[0].Send(Frame(unknown, mac[0], 4)); // nobody has sent from this address: everyone else gets it
            receivedByB.Add(SequenceOf(Expect(nic[1], "b: the unknown unicast", Patience)));
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: the unknown unicast", Patience)));
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(2, receivedByA);
        Assert.Equal([1, 3, 4], receivedByB);
        // The two unicasts between a and b came before frame 4 on every port's queue: c saw neither.
        Assert.Equal([1, 4], receivedByC);

        SwitchProtocol.SwitchState state = await StateAsync(switchActor);
        Assert.Equal(0, state.Addresses); // power-off detached every port, and a detached port's addresses are forgotten
        Assert.All(state.Ports, port => Assert.False(port.Attached));
        Assert.Equal(3, state.Port("a").Counters.RxFrames);
        Assert.Equal(2, state.Port("a").Counters.Floods);
        Assert.Equal(1, state.Port("a").Counters.TxFrames);
        Assert.Equal(3, state.Port("b").Counters.TxFrames);
        Assert.Equal(2, state.Port("c").Counters.TxFrames);
        Assert.Equal(64 + 14, state.Port("a").Counters.TxBytes);
    }

    [Fact]
    public async Task A_frame_never_goes_back_out_of_the_port_it_came_in_on()
    {
        using var segment = new SwitchSegment(ports: ["a", "b"]);
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network));
        byte[][] mac = segment.Macs;
        int lastByB = -1;

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment);
            nic[0].Send(Frame(Broadcast, mac[0], 1));
            Expect(nic[1], "b: a's broadcast", Patience);
            nic[0].Send(Frame(mac[0], mac[0], 2)); // to a's own, learned address: it would hairpin
            nic[0].Send(Frame(mac[1], mac[0], 3)); // unknown b: flooded, but only to b
            lastByB = SequenceOf(Expect(nic[1], "b: frame 3", Patience));
            if (!nic[0].WaitSent(Patience))
            {
                throw new SimulatedGuestException("a's frames were never taken");
            }
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(3, lastByB);
        SwitchProtocol.PortState a = (await StateAsync(switchActor)).Port("a");
        Assert.Equal(0, a.Counters.TxFrames);
        Assert.Equal(1, a.Counters.Dropped(SwitchDropReason.SamePort));
        Assert.Equal(3, a.Counters.RxFrames);
    }

    [Fact]
    public async Task An_address_not_heard_for_the_ageing_time_is_forgotten_and_frames_to_it_flood_again()
    {
        long now = 0;
        using var segment = new SwitchSegment(ageing: TimeSpan.FromSeconds(300), clockMs: () => Volatile.Read(ref now));
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network));
        byte[][] mac = segment.Macs;
        var receivedByC = new List<int>();

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment);
            nic[0].Send(Frame(Broadcast, mac[0], 1)); // a learned at t = 0
            Expect(nic[1], "b: broadcast", Patience);
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: broadcast", Patience)));

            Volatile.Write(ref now, 299_000);
            nic[1].Send(Frame(mac[0], mac[1], 2)); // still known: a only
            Expect(nic[0], "a: frame 2", Patience);

            Volatile.Write(ref now, 299_000 + 300_000); // a silent for the whole ageing time
            nic[1].Send(Frame(mac[0], mac[1], 3));
            Expect(nic[0], "a: frame 3", Patience);
            receivedByC.Add(SequenceOf(Expect(nic[2], "c: frame 3, flooded", Patience)));
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal([1, 3], receivedByC);
        SwitchProtocol.SwitchState state = await StateAsync(switchActor);
        Assert.Equal(1, state.Port("b").Counters.Floods);
        Assert.Equal(2, state.Port("c").Counters.TxFrames);
    }
}
