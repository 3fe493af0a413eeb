using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Tests.Devices.Net;

public sealed class NetTransmitTests
{
    [Fact]
    public void A_frame_goes_to_the_tap_whole_header_included()
    {
        using var f = new NetFixture();
        byte[] frame = NetFixture.Frame(60);
        ushort head = f.TransmitRing.Offer(f.TransmitRing.Readable(frame.AsSpan(0, 10)), f.TransmitRing.Readable(frame.AsSpan(10)));

        Assert.Equal(DrainResult.RingEmpty, f.TransmitRing.Drain(f.Transmit));

        Assert.Equal((head, 0u), f.TransmitRing.Used());
        Assert.Equal(frame, f.HostReceives());
        Assert.Null(f.HostReceives());
        Assert.Equal(70, f.Device.Counters.BytesWritten);
    }

    [Fact]
    public void A_frame_shorter_than_the_header_is_dropped_counted_and_returned()
    {
        using var f = new NetFixture();
        ushort head = f.TransmitRing.Offer(f.TransmitRing.Readable(new byte[6]));
        ushort next = f.TransmitRing.Offer(f.TransmitRing.Readable(NetFixture.Frame(20)));

        Assert.Equal(DrainResult.RingEmpty, f.TransmitRing.Drain(f.Transmit));

        Assert.Equal((head, 0u), f.TransmitRing.Used());
        Assert.Equal((next, 0u), f.TransmitRing.Used());
        Assert.Equal(1, f.Device.Counters.Dropped);
        Assert.Equal(NetFixture.Frame(20), f.HostReceives());
        Assert.Null(f.HostReceives());
    }

    [Fact]
    public void Writable_buffers_in_the_transmit_queue_are_refused()
    {
        using var f = new NetFixture();
        f.TransmitRing.Offer(f.TransmitRing.Readable(NetFixture.Frame(20)), f.TransmitRing.Writable(10));

        Assert.Throws<GuestRequestException>(() => f.TransmitRing.Drain(f.Transmit));
        Assert.Null(f.HostReceives());
    }
}
