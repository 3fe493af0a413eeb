using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Queues;
using Lguest.Actors.Tests.Configuration;

namespace Lguest.Actors.Tests.Devices.Block;

/// <summary>io-uring: off by default, on per device, refused with the key named; what the queue's handler then does.</summary>
public sealed class BlockIoUringSettingsTests : IClassFixture<ConfigFixture>
{
    private readonly ConfigFixture _fixture;

    public BlockIoUringSettingsTests(ConfigFixture fixture) => _fixture = fixture;

    [Fact]
    public void On_a_queue_writes_through_its_own_io_uring()
    {
        BlockSettings block = Read(", io-uring = on");
        Assert.True(block.IoUring);
        using var device = new BlockDevice(block, NoLogger.Instance);
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        // This host has io_uring (the interop tests prove it): the queue gets a completion eventfd to sleep on.
        Assert.NotNull(((ICompletingQueueHandler)handler).Completions);
    }

    [Fact]
    public void By_default_every_write_is_a_pwritev_on_the_queue_thread()
    {
        BlockSettings block = Read(string.Empty);
        Assert.False(block.IoUring);
        using var device = new BlockDevice(block, NoLogger.Instance);
        using IQueueHandler handler = device.Queues[0].CreateHandler!();
        Assert.Null(((ICompletingQueueHandler)handler).Completions);
    }

    [Fact]
    public void A_bad_value_is_named()
    {
        var e = _fixture.Fails($"devices = [ {{ type = block, path = {HoconText.Quote(_fixture.Disk)}, io-uring = sometimes }} ]", "lguest.devices[0].io-uring");
        Assert.Equal("lguest.devices[0].io-uring: expected on or off, got 'sometimes'", e.Message);
    }

    private BlockSettings Read(string extra)
        => Assert.Single(_fixture.Read($"devices = [ {{ type = block, path = {HoconText.Quote(_fixture.Disk)}{extra} }} ]").Devices.OfType<BlockSettings>());
}
