using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.DevLguest;
using Lguest.Actors.Engines.DevLguest.Model;
using Lguest.Actors.Engines.Simulated;
using Lguest.Native.Lguest;

namespace Lguest.Actors.Engines;

/// <summary>Turns the configured engine into a running one; for <c>auto</c>, says which it picked and why.</summary>
internal static class EngineSelector
{
    public static IGuestEngine Create(LauncherSettings settings, ILoggingAdapter log)
    {
        switch (settings.Engine)
        {
            case EngineKind.Lguest:
                return new LguestEngine(LguestChannel.Open(settings.LguestDevice));
            case EngineKind.Simulated:
                return new SimulatedEngine(settings.Simulated);
            case EngineKind.LguestModel:
                return LguestModelEngine.Create(settings.LguestDevice, hv => new SimulatedLinux(hv, settings.Simulated).Boot());
            case EngineKind.Auto when File.Exists(settings.LguestDevice):
                log.Info("engine auto: {0} exists, using the lguest engine", settings.LguestDevice);
                return new LguestEngine(LguestChannel.Open(settings.LguestDevice));
            case EngineKind.Auto:
                log.Info("engine auto: {0} does not exist (lguest needs a pre-4.14 32-bit host), using the simulated engine", settings.LguestDevice);
                return new SimulatedEngine(settings.Simulated);
            default:
                throw new ConfigurationException("lguest.engine", $"the {settings.Engine} engine does not run a guest in this launcher");
        }
    }
}
