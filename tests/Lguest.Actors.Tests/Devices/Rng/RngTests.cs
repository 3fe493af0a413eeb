using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Rng;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Rng;

public sealed class RngTests
{
    [Fact]
    public void Fills_every_writable_buffer_from_the_source()
    {
        byte[] entropy = TempFile.Pattern(64);
        using var source = new TempFile(entropy);
        using var device = new RngDevice(new RngSettings(source.Path, 4096));
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        using var ring = new QueueHarness();
        DriverBuffer first = ring.Writable(16);
        DriverBuffer second = ring.Writable(24);
        ushort head = ring.Offer(first, second);

        Assert.Equal(DrainResult.RingEmpty, ring.Drain(handler));

        Assert.Equal((head, 40u), ring.Used());
        Assert.Equal(entropy.AsSpan(0, 40).ToArray(), ring.Contents(first).Concat(ring.Contents(second)).ToArray());
        Assert.Equal(40, device.Counters.BytesRead);
    }

    [Fact]
    public void A_bigger_buffer_gets_only_the_cap()
    {
        byte[] entropy = TempFile.Pattern(64);
        using var source = new TempFile(entropy);
        using var device = new RngDevice(new RngSettings(source.Path, 8));
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        using var ring = new QueueHarness();
        DriverBuffer buffer = ring.Writable(32);
        ring.Offer(buffer);

        ring.Drain(handler);

        Assert.Equal(8u, ring.Used().Length);
        Assert.Equal(entropy.AsSpan(0, 8).ToArray().Concat(new byte[24]).ToArray(), ring.Contents(buffer));
    }

    [Fact]
    public void Readable_buffers_are_refused()
    {
        using var device = new RngDevice(new RngSettings("/dev/urandom", 4096));
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        using var ring = new QueueHarness();
        ring.Offer(ring.Readable(new byte[4]), ring.Writable(16));

        Assert.Throws<GuestRequestException>(() => ring.Drain(handler));
        Assert.False(ring.TryUsed(out _, out _));
    }

    [Fact]
    public void A_source_that_runs_dry_is_a_host_failure()
    {
        using var source = new TempFile(new byte[4]);
        using var device = new RngDevice(new RngSettings(source.Path, 4096));
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        using var ring = new QueueHarness();
        ring.Offer(ring.Writable(16));

        var e = Assert.Throws<HostDeviceException>(() => ring.Drain(handler));
        Assert.Contains(source.Path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Urandom_fills_a_page_and_the_budget_bounds_a_drain()
    {
        using var device = new RngDevice(new RngSettings("/dev/urandom", 65536));
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        using var ring = new QueueHarness();
        var buffers = new List<DriverBuffer>();
        for (int i = 0; i < 3; i++)
        {
            buffers.Add(ring.Writable(4096));
            ring.Offer(buffers[^1]);
        }

        Assert.Equal(DrainResult.BudgetSpent, ring.Drain(handler, budget: 2));
        Assert.Equal(DrainResult.RingEmpty, ring.Drain(handler));

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(4096u, ring.Used().Length);
            Assert.Contains(ring.Contents(buffers[i]), b => b != 0);
        }
        Assert.Equal("rng", device.Describe());
        Assert.Equal(4, device.DeviceType);
    }
}
