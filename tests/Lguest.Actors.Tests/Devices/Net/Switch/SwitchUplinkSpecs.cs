using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Devices.Net;
using Lguest.Actors.Devices.Net.Switch;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Rig;
using Lguest.Native.Interop;
using Xunit.Abstractions;
using static Lguest.Actors.Tests.Devices.Net.Switch.SwitchSegment;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>
/// The uplink: one more port whose far end is the host. A datagram socket pair stands in for the tap (one read,
/// one frame, behind the 12-byte header the uplink sets the tap to), so the spec needs no privileges.
/// </summary>
public sealed class SwitchUplinkSpecs(ITestOutputHelper output) : TestKit(DeviceRig.AkkaConfig, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly byte[] HostMac = [0x02, 0, 0, 0, 0, 0x01];

    [Fact]
    public async Task Frames_reach_the_host_and_come_back_through_the_uplink_like_any_port()
    {
        using var segment = new SwitchSegment(ports: ["a", "b"]);
        SwitchPort uplink = segment.AddUplink();
        (FileDescriptor tapEnd, FileDescriptor host) = SocketPair.CreateDatagram(nonBlocking: true);
        using FileDescriptor hostEnd = host;
        using FileDescriptor tapStandIn = tapEnd;
        IActorRef switchActor = Sys.ActorOf(SwitchActor.Props(segment.Network, (uplink, tapStandIn)));
        byte[][] mac = segment.Macs;
        var receivedByA = new List<int>();
        var receivedByB = new List<int>();
        var receivedByHost = new List<(int Sequence, int FrameLength)>();

        LauncherExit exit = await segment.Rig.RunAsync(Sys, guest =>
        {
            NetDriver[] nic = BindAll(guest, segment);
            segment.WaitAttached(Patience, true, uplink);

            FileIo.Write(hostEnd, [.. new byte[NetProtocol.ModernHeaderSize], .. Frame(Broadcast, HostMac, 1)]);
            receivedByA.Add(SequenceOf(Expect(nic[0], "a: the host's broadcast", Patience)));
            receivedByB.Add(SequenceOf(Expect(nic[1], "b: the host's broadcast", Patience)));

            nic[0].Send(Frame(HostMac, mac[0], 2)); // the host is known since its broadcast: the uplink only
            receivedByHost.Add(ReadFromHost(hostEnd));
            nic[1].Send(Frame(Broadcast, mac[1], 3));
            receivedByA.Add(SequenceOf(Expect(nic[0], "a: b's broadcast", Patience)));
            receivedByHost.Add(ReadFromHost(hostEnd));
            // Had a's unicast to the host leaked to b, b would see it before this one.
            FileIo.Write(hostEnd, [.. new byte[NetProtocol.ModernHeaderSize], .. Frame(mac[1], HostMac, 4)]);
            receivedByB.Add(SequenceOf(Expect(nic[1], "b: the host's unicast", Patience)));
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal([1, 3], receivedByA);
        Assert.Equal([1, 4], receivedByB);
        Assert.Equal([(2, 14 + 64), (3, 14 + 64)], receivedByHost);
        SwitchProtocol.PortState state = (await StateAsync(switchActor)).Port("uplink");
        Assert.Equal(2, state.Counters.TxFrames);
        Assert.Equal(2, state.Counters.RxFrames);
    }

    /// <summary>One frame the uplink wrote to the host: its sequence and the frame's length behind the 12-byte header.</summary>
    private static (int Sequence, int FrameLength) ReadFromHost(FileDescriptor host)
    {
        byte[] buffer = new byte[NetProtocol.MaxFrame];
        if (!Poll.WaitReadable(host, Patience))
        {
            throw new SimulatedGuestException("the host end got no frame from the uplink");
        }
        long read = NonBlockingIo.TryRead(host, buffer);
        byte[] frame = buffer.AsSpan(NetProtocol.ModernHeaderSize, (int)read - NetProtocol.ModernHeaderSize).ToArray();
        return (SequenceOf(frame), frame.Length);
    }
}
