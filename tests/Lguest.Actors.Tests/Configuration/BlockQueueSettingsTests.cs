using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Dispatch;

namespace Lguest.Actors.Tests.Configuration;

/// <summary>num-queues and poll-max-ns: read per block device, refused with the key named, and what the guest sees.</summary>
public sealed class BlockQueueSettingsTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public BlockQueueSettingsTests(ConfigFixture fixture) => _fixture = fixture;

    [Fact]
    public void Defaults_are_one_queue_and_no_polling()
    {
        var block = Assert.IsType<BlockSettings>(Assert.Single(_fixture.Read($"devices = [ {{ type = block, path = {HoconText.Quote(_fixture.Disk)} }} ]").Devices.OfType<BlockSettings>()));
        Assert.Equal(1, block.NumQueues);
        Assert.Equal(TimeSpan.Zero, block.PollMax);
    }

    [Fact]
    public void Queues_and_polling_are_read_per_device()
    {
        var block = Assert.Single(_fixture.Read(
            $"devices = [ {{ type = block, path = {HoconText.Quote(_fixture.Disk)}, num-queues = 4, poll-max-ns = 32768 }} ]").Devices.OfType<BlockSettings>());
        Assert.Equal(4, block.NumQueues);
        Assert.InRange(block.PollMax.TotalMicroseconds, 32.7, 32.8); // 32.768 µs, to the 100 ns tick
    }

    [Theory]
    [InlineData("num-queues = 0", "num-queues", "must be greater than 0, got 0")]
    [InlineData("num-queues = 65", "num-queues", "must be at most 64, got 65")]
    [InlineData("num-queues = many", "num-queues", "not an integer: many")]
    [InlineData("poll-max-ns = -1", "poll-max-ns", "must be at least 0, got -1")]
    public void Bad_values_are_named(string setting, string key, string problem)
    {
        var e = _fixture.Fails($"devices = [ {{ type = block, path = {HoconText.Quote(_fixture.Disk)}, {setting} }} ]", $"lguest.devices[0].{key}");
        Assert.Equal($"lguest.devices[0].{key}: {problem}", e.Message);
    }

    [Fact]
    public void Several_queues_offer_multiqueue_and_say_how_many_in_the_config_space()
    {
        using var one = new BlockDevice(new BlockSettings(_fixture.Disk, ReadOnly: false), Akka.Event.NoLogger.Instance);
        using var two = new BlockDevice(new BlockSettings(_fixture.Disk, ReadOnly: false) { NumQueues = 2 }, Akka.Event.NoLogger.Instance);

        Assert.Equal(0UL, one.OfferedFeatures & (1UL << 12)); // one queue: the seed's device, no VIRTIO_BLK_F_MQ
        Assert.Equal(16, one.Config.Length);
        Assert.Single(one.Queues);

        Assert.NotEqual(0UL, two.OfferedFeatures & (1UL << 12));
        Assert.Equal(2, BitConverter.ToUInt16(two.Config.Span[34..36]));
        Assert.Equal(["requests0", "requests1"], two.Queues.Select(q => q.Name));
    }

    [Fact]
    public void The_poll_window_grows_on_short_sleeps_and_closes_on_long_ones()
    {
        var poller = new TestPoller(TimeSpan.FromMicroseconds(32));
        long max = (long)(32e-6 * System.Diagnostics.Stopwatch.Frequency);
        Assert.Equal(0, poller.WindowTicks); // starts closed: an idle queue never polls

        for (int i = 0; i < 10; i++)
        {
            poller.Slept(max - 1); // woken by work sooner than the maximum: a longer poll would have caught it
        }
        Assert.Equal(max, poller.WindowTicks);

        for (int i = 0; i < 10; i++)
        {
            poller.Slept(max * 100); // idle for long: the window halves down to closed
        }
        Assert.Equal(0, poller.WindowTicks);
        poller.ArmAfterDrain();
        Assert.False(poller.Armed);
    }

    private sealed class TestPoller(TimeSpan max) : IdlePoller(max, "work", "expired")
    {
        public override bool HasWork() => false;
    }
}
