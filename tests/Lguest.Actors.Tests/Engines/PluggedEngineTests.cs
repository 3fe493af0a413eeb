using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit;

namespace Lguest.Actors.Tests.Engines;

/// <summary>The runtime offers the TestKit's engines only through the factory a host plugs in.</summary>
public sealed class PluggedEngineTests
{
    private static readonly LauncherSettings Simulated = new(
        EngineKind.Simulated, 16UL << 20, "/no/kernel", null, "", false, null, null, "/dev/lguest",
        new SupervisionSettings(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromMinutes(1)), [],
        new SimulatedSettings(TimeSpan.FromSeconds(1), ""));

    [Theory]
    [InlineData(EngineKind.Simulated, "simulated")]
    [InlineData(EngineKind.LguestModel, "lguest-model")]
    public void Without_the_TestKit_a_TestKit_engine_is_a_configuration_error_that_names_it(EngineKind engine, string name)
    {
        var e = Assert.Throws<ConfigurationException>(() => EngineSelector.Create(Simulated with { Engine = engine }, NoLogger.Instance, null));

        Assert.Contains($"the {name} engine is Lguest.DeviceTestKit's", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_the_TestKit_plugged_in_the_simulated_engine_is_the_TestKits()
    {
        using IGuestEngine engine = EngineSelector.Create(Simulated, NoLogger.Instance, TestKitEngines.Create);

        Assert.IsType<SimulatedEngine>(engine);
    }
}
