using System.Diagnostics.Metrics;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Metrics;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Rig;
using Lguest.Actors.Launcher;
using Lguest.Actors.Tests.Devices;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.DeviceSimulation;

/// <summary>
/// The net device through the simulated guest's virtio_net driver, on the whole actor stack, with a datagram socket
/// pair standing in for the tap. Runs alone: it reads the process-wide "Lguest.Devices" meter.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class NetSimulation(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private static readonly NetSettings Net = new("10.77.0.1", null, "52:54:00:12:34:56", "tap%d");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Frames_travel_both_ways_and_runts_and_giants_are_dropped_and_counted()
    {
        using var dropped = new DropCounter();
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Net);
        byte[] outbound = Frame(1, 60);
        byte[] inbound = Frame(2, 1514);
        byte[]? sent = null;
        var received = new List<byte[]>();
        int lengthErrors = 0;

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            NetDriver nic = guest.Net();
            Assert.Equal(new byte[] { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, nic.Mac);
            nic.Send(outbound);
            Assert.True(nic.WaitSent(guest.Timeout));
            sent = HostReceive(rig.NetHost!);

            HostSend(rig.NetHost!, new byte[5]); // shorter than a virtio-net header
            HostSend(rig.NetHost!, Header(Frame(3, NetDriver.MaxFrame + 100))); // bigger than the guest's buffer
            HostSend(rig.NetHost!, Header(inbound));
            received.Add(nic.TryReceive(guest.Timeout) ?? throw new TimeoutException("no frame"));
            lengthErrors = nic.ReceiveLengthErrors;
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(Header(outbound), sent); // the guest's header and frame, as a tap would read them
        Assert.Equal([inbound], received);
        Assert.Equal(1, lengthErrors); // the giant arrived as an empty buffer; the runt never reached the guest
        Assert.Equal(2, dropped.Value);
    }

    [Fact]
    public async Task A_receive_stall_holds_frames_back_and_a_refill_delivers_them_all_in_order()
    {
        const int frames = 40; // more than the driver's 16 receive buffers
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Net);
        var received = new List<byte[]>();

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            NetDriver nic = guest.Net();
            nic.ConsumeInput = false;
            for (int i = 0; i < frames; i++)
            {
                HostSend(rig.NetHost!, Header(Frame(i, 100 + i)));
            }
            // Every posted buffer is used before the guest looks again: the device must hold the rest, not drop them.
            WaitForUsedEntries(guest, nic, 16);
            nic.ConsumeInput = true;
            while (received.Count < frames)
            {
                received.Add(nic.TryReceive(guest.Timeout) ?? throw new TimeoutException($"frame {received.Count} never came"));
            }
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(Enumerable.Range(0, frames).Select(i => Frame(i, 100 + i)), received);
    }

    [Fact]
    public async Task A_receive_chain_with_nothing_writable_needs_a_reset_and_the_device_then_works()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.RestartDevice, null, Net);
        byte[]? after = null;
        byte[]? sentAfter = null;

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            NetDriver nic = guest.Net();
            nic.ConsumeInput = false;
            GuestFaults.PostReceiveBufferWithoutWritable(nic, guest.Heap);
            for (int i = 0; i < 17; i++)
            {
                HostSend(rig.NetHost!, Header(Frame(i, 80))); // the 17th meets the bad chain
            }
            guest.WaitForNeedsReset(nic.Device);

            guest.Reset(nic.Device);
            NetDriver again = guest.Net();
            again.Send(Frame(100, 64));
            Assert.True(again.WaitSent(guest.Timeout));
            sentAfter = HostReceive(rig.NetHost!);
            HostSend(rig.NetHost!, Header(Frame(101, 64)));
            after = again.TryReceive(guest.Timeout);
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(Header(Frame(100, 64)), sentAfter);
        Assert.Equal(Frame(101, 64), after);
    }

    [Fact]
    public async Task With_kill_launcher_a_receive_chain_with_nothing_writable_ends_the_launcher_naming_the_device()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Net);

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            NetDriver nic = guest.Net();
            nic.ConsumeInput = false;
            GuestFaults.PostReceiveBufferWithoutWritable(nic, guest.Heap);
            for (int i = 0; i < 17; i++)
            {
                HostSend(rig.NetHost!, Header(Frame(i, 80)));
            }
            guest.IdleUntilStopped();
        });

        Assert.Equal(LauncherExit.Failed, exit.ExitCode);
        Assert.StartsWith("net:", exit.Message, StringComparison.Ordinal);
        Assert.Contains("receive", exit.Message, StringComparison.Ordinal);
    }

    /// <summary>An Ethernet frame of <paramref name="length"/> bytes whose bytes all say <paramref name="n"/>.</summary>
    private static byte[] Frame(int n, int length)
    {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++)
        {
            frame[i] = (byte)(n + (i * 7));
        }
        return frame;
    }

    /// <summary>A frame behind a zeroed 10-byte virtio-net header, as a tap with IFF_VNET_HDR hands it over.</summary>
    private static byte[] Header(byte[] frame) => [.. new byte[NetDriver.HeaderSize], .. frame];

    private static void HostSend(FileDescriptor host, byte[] datagram) => Assert.Equal(datagram.Length, FileIo.Write(host, datagram));

    /// <summary>One datagram from the guest, waiting (bounded) for it: the host end is non-blocking.</summary>
    private static byte[] HostReceive(FileDescriptor host)
    {
        byte[] buffer = new byte[70000];
        if (!Poll.WaitReadable(host, Bound))
        {
            throw new TimeoutException("the guest's frame never reached the host end");
        }
        long read = NonBlockingIo.TryRead(host, buffer);
        Assert.True(read > 0);
        return buffer[..(int)read];
    }

    /// <summary>Watches, without taking them, until the device has used <paramref name="count"/> receive buffers.</summary>
    private static void WaitForUsedEntries(RigGuest guest, NetDriver nic, int count)
    {
        DateTime deadline = DateTime.UtcNow + Bound;
        while (nic.Input.Queue.PendingUsed < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the device used {nic.Input.Queue.PendingUsed} of {count} receive buffers");
            }
            guest.Hv.WaitForInterrupt(nic.Input.Irq, TimeSpan.FromMilliseconds(2));
        }
    }

    /// <summary>Sums the "lguest.device.dropped" measurements tagged device=net while it lives.</summary>
    private sealed class DropCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public DropCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == DeviceMetrics.MeterName && instrument.Name == "lguest.device.dropped")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == "device" && (string?)tag.Value == "net")
                    {
                        Interlocked.Add(ref _value, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }
}
