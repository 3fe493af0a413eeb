using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Net;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Net;

public sealed class NetReceiveTests
{
    [Fact]
    public void A_frame_fills_the_guests_buffer()
    {
        using var f = new NetFixture();
        DriverBuffer header = f.ReceiveRing.Writable(10);
        DriverBuffer body = f.ReceiveRing.Writable(1600);
        ushort head = f.ReceiveRing.Offer(header, body);
        byte[] frame = NetFixture.Frame(100);
        f.HostSends(frame);

        Assert.Equal(DrainResult.SourceEmpty, f.ReceiveRing.Drain(f.Receive));

        Assert.Equal((head, 110u), f.ReceiveRing.Used());
        Assert.Equal(frame, f.ReceiveRing.Contents(header).Concat(f.ReceiveRing.Contents(body).Take(100)).ToArray());
        Assert.Equal(110, f.Device.Counters.BytesRead);
    }

    [Fact]
    public void With_no_traffic_the_buffers_stay_in_the_ring()
    {
        using var f = new NetFixture();
        f.ReceiveRing.Offer(f.ReceiveRing.Writable(1600));

        Assert.Equal(DrainResult.SourceEmpty, f.ReceiveRing.Drain(f.Receive));
        Assert.False(f.ReceiveRing.TryUsed(out _, out _));
    }

    [Fact]
    public void A_frame_bigger_than_the_buffer_is_dropped_and_never_copied()
    {
        using var f = new NetFixture();
        DriverBuffer small = f.ReceiveRing.Writable(200);
        DriverBuffer guard = f.ReceiveRing.Writable(64); // allocated right after: an overrun would land here
        ushort first = f.ReceiveRing.Offer(small);
        DriverBuffer big = f.ReceiveRing.Writable(1600);
        ushort second = f.ReceiveRing.Offer(big);
        f.HostSends(NetFixture.Frame(1500));
        f.HostSends(NetFixture.Frame(50, seed: 5));

        f.ReceiveRing.Drain(f.Receive);

        Assert.Equal((first, 0u), f.ReceiveRing.Used());
        Assert.Equal(new byte[200], f.ReceiveRing.Contents(small));
        Assert.Equal(new byte[64], f.ReceiveRing.Contents(guard));
        Assert.Equal((second, 60u), f.ReceiveRing.Used());
        Assert.Equal(NetFixture.Frame(50, seed: 5), f.ReceiveRing.Contents(big).Take(60).ToArray());
        Assert.Equal(1, f.Device.Counters.Dropped);
    }

    [Fact]
    public void A_chain_with_nothing_to_fill_is_refused()
    {
        using var f = new NetFixture();
        f.ReceiveRing.Offer(f.ReceiveRing.Readable(new byte[10]));
        f.HostSends(NetFixture.Frame(20));

        Assert.Throws<GuestRequestException>(() => f.ReceiveRing.Drain(f.Receive));
    }

    [Fact]
    public void A_stall_holds_one_frame_and_a_refill_resumes_delivery_in_order()
    {
        using var f = new NetFixture();
        f.HostSends(NetFixture.Frame(30, seed: 1));
        f.HostSends(NetFixture.Frame(40, seed: 2));
        f.HostSends(NetFixture.Frame(50, seed: 3));

        // No buffers: one frame is taken and held, the rest stay in the kernel.
        Assert.Equal(DrainResult.RingEmpty, f.ReceiveRing.Drain(f.Receive));
        Assert.True(((NetReceiveHandler)f.Receive).HasPendingFrame);

        DriverBuffer a = f.ReceiveRing.Writable(1600);
        f.ReceiveRing.Offer(a);
        Assert.Equal(DrainResult.RingEmpty, f.ReceiveRing.Drain(f.Receive));
        Assert.Equal(40u, f.ReceiveRing.Used().Length);
        Assert.Equal(NetFixture.Frame(30, seed: 1), f.ReceiveRing.Contents(a).Take(40).ToArray());

        DriverBuffer b = f.ReceiveRing.Writable(1600);
        DriverBuffer c = f.ReceiveRing.Writable(1600);
        f.ReceiveRing.Offer(b);
        f.ReceiveRing.Offer(c);
        Assert.Equal(DrainResult.SourceEmpty, f.ReceiveRing.Drain(f.Receive));
        Assert.Equal(50u, f.ReceiveRing.Used().Length);
        Assert.Equal(60u, f.ReceiveRing.Used().Length);
        Assert.Equal(NetFixture.Frame(40, seed: 2), f.ReceiveRing.Contents(b).Take(50).ToArray());
        Assert.Equal(NetFixture.Frame(50, seed: 3), f.ReceiveRing.Contents(c).Take(60).ToArray());
        Assert.False(((NetReceiveHandler)f.Receive).HasPendingFrame);
        Assert.Equal(0, f.Device.Counters.Dropped);
    }

    [Fact]
    public void A_runt_from_the_host_is_dropped()
    {
        using var f = new NetFixture();
        f.ReceiveRing.Offer(f.ReceiveRing.Writable(1600));
        f.HostSends(new byte[4]);

        Assert.Equal(DrainResult.SourceEmpty, f.ReceiveRing.Drain(f.Receive));
        Assert.False(f.ReceiveRing.TryUsed(out _, out _));
        Assert.Equal(1, f.Device.Counters.Dropped);
    }
}
