using System.Diagnostics.Metrics;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Net;
using Lguest.Actors.Metrics;

namespace Lguest.Actors.Tests.Devices.Net;

public sealed class NetDeviceTests
{
    private const ulong SeedFeatures = (1UL << 0) | (1UL << 1) | (1UL << 7) | (1UL << 8) | (1UL << 9)
        | (1UL << 11) | (1UL << 12) | (1UL << 13) | (1UL << 28);

    [Fact]
    public void Features_queues_and_config_are_the_seeds()
    {
        using var f = new NetFixture();

        Assert.Equal(1, f.Device.DeviceType);
        Assert.Equal(SeedFeatures, f.Device.OfferedFeatures);
        Assert.Equal(["receive", "transmit"], f.Device.Queues.Select(q => q.Name));
        Assert.All(f.Device.Queues, q => Assert.Equal(256, q.Size));
        Assert.Equal("tun test0: 10.0.0.1", f.Device.Describe());
    }

    [Fact]
    public void A_mac_address_is_offered_in_the_config()
    {
        using var f = new NetFixture(NetProtocol.ParseMac("52:54:00:ab:cd:ef"));

        Assert.Equal(SeedFeatures | (1UL << 5), f.Device.OfferedFeatures);
        Assert.Equal(new byte[] { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0, 0 }, f.Device.Config.ToArray());
    }

    [Fact]
    public void The_config_is_the_seeds_8_byte_virtio_net_config_mac_then_status()
    {
        // lguest.c: set_config(dev, sizeof(conf), &conf) with struct virtio_net_config { u8 mac[6]; u16 status; }.
        using var f = new NetFixture(null);

        Assert.Equal(8, f.Device.Config.Length);
        Assert.All(f.Device.Config.ToArray(), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData("52:54:00:ab:cd")]
    [InlineData("52:54:00:ab:cd:ef:01")]
    [InlineData("52:54:00:ab:cd:eg")]
    [InlineData("5:54:00:ab:cd:ef")]
    [InlineData("")]
    public void Bad_mac_addresses_are_rejected(string text) => Assert.Null(NetProtocol.ParseMac(text));

    [Fact]
    public void Settings_need_exactly_one_of_address_and_bridge()
    {
        Assert.Throws<ConfigurationException>(() => new NetDevice(new NetSettings(null, null, null, "tap%d")));
        Assert.Throws<ConfigurationException>(() => new NetDevice(new NetSettings("10.0.0.1", "br0", null, "tap%d")));
        Assert.Throws<ConfigurationException>(() => new NetDevice(new NetSettings("10.0.0.300", null, null, "tap%d")));
        Assert.Throws<ConfigurationException>(() => new NetDevice(new NetSettings("::1", null, null, "tap%d")));
        Assert.Throws<ConfigurationException>(() => new NetDevice(new NetSettings("10.0.0.1", null, "zz:54:00:ab:cd:ef", "tap%d")));
    }

    [Fact]
    public void Dropped_frames_reach_the_meter_tagged_with_the_device()
    {
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DeviceMetrics.MeterName && instrument.Name == "lguest.device.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "device" && (string?)tag.Value == "net")
                {
                    Interlocked.Add(ref dropped, value);
                }
            }
        });
        listener.Start();
        using var f = new NetFixture();
        f.TransmitRing.Offer(f.TransmitRing.Readable(new byte[3]));

        f.TransmitRing.Drain(f.Transmit);

        Assert.True(Interlocked.Read(ref dropped) >= 1);
    }

    [Fact]
    public void Queue_counters_count_kicks_and_interrupts()
    {
        var counters = new QueueCounters("net", "receive");
        counters.Kicked();
        counters.Kicked();
        counters.Interrupted();

        Assert.Equal((2, 1), (counters.Kicks, counters.Interrupts));
    }
}
