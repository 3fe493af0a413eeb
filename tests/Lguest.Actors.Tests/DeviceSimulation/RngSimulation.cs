using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.Actors.Launcher;
using Lguest.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.DeviceSimulation;

/// <summary>The rng through the simulated guest's virtio-rng driver, on the whole actor stack.</summary>
public sealed class RngSimulation(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    [Fact]
    public async Task A_request_is_filled_and_an_oversize_one_gets_at_most_the_cap()
    {
        const int cap = 100;
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, new RngSettings("/dev/urandom", cap));
        byte[] small = [];
        byte[] big = [];

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            RngDriver rng = guest.Rng();
            small = rng.Read(64);
            big = rng.Read(RngDriver.MaxRequestBytes);
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(64, small.Length);
        Assert.Equal(cap, big.Length);
        Assert.True(big.Distinct().Count() > 16, "the capped answer is not random bytes");
    }
}
