using Akka.TestKit.Xunit2;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit.Rig;
using Xunit.Abstractions;

namespace Lguest.DeviceTestKit.Tests.Example;

/// <summary>
/// The guide's example spec (docs/testkit.md): <see cref="ShoutDevice"/> on the whole launcher, driven by the
/// TestKit's guest. The assertions are the guest's: what a driver reads back, and whether the launcher powered off.
/// </summary>
public sealed class ShoutDeviceSpecs(ITestOutputHelper output) : TestKit(DeviceRig.AkkaConfig, output: output)
{
    [Fact]
    public async Task A_driver_that_accepts_uppercase_gets_its_message_back_shouted()
    {
        using var rig = new DeviceRig(() => new ShoutDevice());
        string answer = string.Empty;
        bool negotiated = false;

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            var shout = new ShoutDriver(guest, supportedFeatures: 1UL << ShoutDevice.FeatureUppercase);
            negotiated = shout.Bound.Has(ShoutDevice.FeatureUppercase);
            answer = shout.Shout("hello, virtio!");
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.True(negotiated, "the device did not offer UPPERCASE");
        Assert.Equal("HELLO, VIRTIO!", answer);
    }

    [Fact]
    public async Task Without_the_feature_the_message_comes_back_as_sent_and_cut_to_the_room_given()
    {
        using var rig = new DeviceRig(() => new ShoutDevice());
        var answers = new List<string>();

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            var shout = new ShoutDriver(guest, supportedFeatures: 0);
            answers.Add(shout.Shout("quiet please"));
            answers.Add(shout.Shout("truncated", room: 5));
            // More requests than the queue has descriptors: completions must free them for reuse.
            for (int i = 0; i < 40; i++)
            {
                answers.Add(shout.Shout($"n{i}"));
            }
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal("quiet please", answers[0]);
        Assert.Equal("trunc", answers[1]);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"n{i}"), answers.Skip(2));
    }
}
