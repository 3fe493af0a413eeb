using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.DevLguest;
using Lguest.Actors.Engines.Qemu;
using Lguest.Actors.Engines.Simulated;
using Lguest.Native.Lguest;

namespace Lguest.Actors.Engines;

/// <summary>Turns the configured engine into a running one; for <c>auto</c>, says which it picked and why.</summary>
internal static class EngineSelector
{
    /// <summary>
    /// The engine <c>auto</c> stands for on this machine, and why: lguest when its device exists, else qemu when the
    /// QEMU binary is found, else the simulated guest. Any other engine is itself.
    /// </summary>
    public static (EngineKind Engine, string Reason) Resolve(LauncherSettings settings)
    {
        if (settings.Engine != EngineKind.Auto)
        {
            return (settings.Engine, "configured");
        }
        if (File.Exists(settings.LguestDevice))
        {
            return (EngineKind.Lguest, $"{settings.LguestDevice} exists");
        }
        if (QemuBinary.Find(settings.Qemu.Binary) is { } qemu)
        {
            return (EngineKind.Qemu, $"{settings.LguestDevice} does not exist (lguest needs a pre-4.14 32-bit host) and {qemu} does");
        }
        return (EngineKind.Simulated, $"neither {settings.LguestDevice} nor {settings.Qemu.Binary} exists");
    }

    public static IGuestEngine Create(LauncherSettings settings, ILoggingAdapter log)
    {
        switch (settings.Engine)
        {
            case EngineKind.Lguest:
                return new LguestEngine(LguestChannel.Open(settings.LguestDevice));
            case EngineKind.Simulated:
                return new SimulatedEngine(settings.Simulated);
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
