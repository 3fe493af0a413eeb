using System.Buffers.Binary;
using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Net.Switch;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Rig;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>
/// A switch with ports "a", "b", "c" for a spec: the port devices go on one <see cref="DeviceRig"/>'s bus, so the
/// spec's guest drives three network cards of one segment through the TestKit's net driver, and the switch actor
/// answers for the counters.
/// </summary>
internal sealed class SwitchSegment : IDisposable
{
    public const ushort EtherType = 0x88b5; // IEEE local experimental

    public static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    public SwitchSegment(int portQueue = 64, TimeSpan? ageing = null, Func<long>? clockMs = null, int tableSize = 64, params string[] ports)
    {
        Network = new NetworkSwitch(new SwitchSettings("lan0", tableSize, ageing ?? TimeSpan.FromMinutes(5), portQueue), clockMs);
        string[] names = ports.Length > 0 ? ports : ["a", "b", "c"];
        Ports = names.Select(name => Network.AddPort(name)).ToArray();
        Macs = names.Select((_, i) => new byte[] { 0x02, 0, 0, 0, 0, (byte)(0x0a + i) }).ToArray();
        Rig = new DeviceRig(Ports.Select((port, i) => (Func<VirtioDevice>)(() => new SwitchPortDevice(port, Macs[i]))).ToArray());
    }

    /// <summary>A port for an uplink, after the guests' ports: frames to and from it never touch a rig device.</summary>
    public SwitchPort AddUplink() => Network.AddPort("uplink");

    public NetworkSwitch Network { get; }

    public SwitchPort[] Ports { get; }

    public byte[][] Macs { get; }

    public DeviceRig Rig { get; }

    /// <summary>Binds the net driver of every port, in bus order, and waits until the switch has attached them all.</summary>
    public static NetDriver[] BindAll(RigGuest guest, SwitchSegment segment)
    {
        NetDriver[] drivers = guest.Devices
            .Where(d => d.Type == VirtioNumbers.DeviceNet)
            .Select(d => new NetDriver(guest.Hv, guest.Heap, d, guest.Timeout))
            .ToArray();
        segment.WaitAttached(guest.Timeout, true, segment.Ports);
        return drivers;
    }

    /// <summary>A condition wait: attachment is the device actor's business, after the driver's DRIVER_OK.</summary>
    public void WaitAttached(TimeSpan timeout, bool attached, params SwitchPort[] ports)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (ports.Any(p => p.IsAttached != attached))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new SimulatedGuestException($"ports {string.Join(", ", ports.Where(p => p.IsAttached != attached).Select(p => p.Name))} never became {(attached ? "attached" : "detached")}");
            }
            Thread.Sleep(1);
        }
    }

    public static byte[] Frame(byte[] destination, byte[] source, int sequence, int payload = 64)
    {
        byte[] frame = new byte[14 + payload];
        destination.CopyTo(frame, 0);
        source.CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), sequence);
        return frame;
    }

    public static int SequenceOf(byte[] frame) => BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(14));

    /// <summary>The next frame <paramref name="driver"/> receives, or a failure naming what was expected.</summary>
    public static byte[] Expect(NetDriver driver, string what, TimeSpan timeout) =>
        driver.TryReceive(timeout) ?? throw new SimulatedGuestException($"{what}: no frame arrived within {timeout.TotalSeconds:0} s");

    public static async Task<SwitchProtocol.SwitchState> StateAsync(IActorRef switchActor) =>
        await switchActor.Ask<SwitchProtocol.SwitchState>(SwitchProtocol.GetState.Instance, TimeSpan.FromSeconds(10));

    public void Dispose()
    {
        Rig.Dispose();
        Network.Dispose();
    }
}
