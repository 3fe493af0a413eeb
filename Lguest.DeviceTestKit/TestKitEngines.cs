using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit.LguestModel;

namespace Lguest.DeviceTestKit;

/// <summary>
/// What a host plugs into the launcher (<see cref="PluggedEngineFactory"/>) to offer the TestKit's engines:
/// <c>simulated</c>, the in-process switcher, and <c>lguest-model</c>, the real lguest engine over a model of /dev/lguest.
/// Both run <see cref="SimulatedLinux"/>, the driver models.
/// </summary>
public static class TestKitEngines
{
    public static IGuestEngine? Create(LauncherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Engine switch
        {
            EngineKind.Simulated => new SimulatedEngine(settings.Simulated),
            EngineKind.LguestModel => LguestModelEngine.Create(settings.LguestDevice, hv => new SimulatedLinux(hv, settings.Simulated).Boot()),
            _ => null,
        };
    }
}
