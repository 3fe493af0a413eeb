using Lguest.Actors.Transports.LguestBus;

namespace Lguest.Actors.Tests.Transports.LguestBus;

public sealed class NotifyRouterTests
{
    private const ulong Limit = 0x1100000;

    private static readonly NotifyRouter Router = new(
        [
            (0x1000000UL, (IReadOnlyList<ulong>)[0x1001000UL, 0x1004000UL]),
            (0x1000015UL, (IReadOnlyList<ulong>)[0x1007000UL]),
        ],
        Limit);

    [Fact]
    public void A_device_descriptor_address_is_a_status_change() =>
        Assert.Equal(new NotifyTarget.StatusChange(1), Router.Route(0x1000015));

    [Fact]
    public void A_ring_address_is_a_kick_of_that_queue() =>
        Assert.Equal(new NotifyTarget.QueueKick(0, 1), Router.Route(0x1004000));

    [Theory]
    [InlineData(0x0UL)]
    [InlineData(0x2000UL)]
    [InlineData(Limit - 1)]
    public void Any_other_address_inside_the_guest_is_the_early_console(ulong address) =>
        Assert.Equal(new NotifyTarget.EarlyConsole(address), Router.Route(address));

    [Theory]
    [InlineData(Limit)]
    [InlineData(ulong.MaxValue)]
    public void An_address_at_or_past_the_limit_is_invalid(ulong address) =>
        Assert.Equal(new NotifyTarget.Invalid(address), Router.Route(address));
}
