using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.DevLguest;
using Lguest.Actors.Engines.Qemu;
using Lguest.Native.Boot;
using Lguest.Native.Boot.Initramfs;
using Lguest.Native.Lguest;

namespace Lguest.Actors.Engines;

/// <summary>Turns the configured engine into a running one; for <c>auto</c>, says which it picked and why.</summary>
internal static class EngineSelector
{
    /// <summary>
    /// The engine <c>auto</c> stands for on this machine, and why: lguest when its device exists, else qemu when the
    /// QEMU binary is found and the kernel is a bzImage (what QEMU's -kernel boots and the built initramfs is made
    /// for; an ELF vmlinux is an lguest or simulated guest's kernel), else the simulated guest. Any other engine is itself.
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
        string noLguest = $"{settings.LguestDevice} does not exist (lguest needs a pre-4.14 32-bit host)";
        if (QemuBinary.Find(settings.Qemu.Binary) is not { } qemu)
        {
            return (EngineKind.Simulated, $"{noLguest} and {settings.Qemu.Binary} was not found");
        }
        try
        {
            KernelRelease release = KernelRelease.Read(settings.Kernel);
            return (EngineKind.Qemu, $"{noLguest}, {qemu} exists and {settings.Kernel} is a bzImage ({release.Release})");
        }
        catch (Exception e) when (e is BootImageException or IOException or UnauthorizedAccessException)
        {
            return (EngineKind.Simulated, $"{noLguest}, and QEMU cannot boot {settings.Kernel}: {e.Message}");
        }
    }

    /// <summary>
    /// The engine the settings name: lguest is the runtime's own; simulated and lguest-model come from
    /// <paramref name="plugged"/> (Lguest.DeviceTestKit, when the host offers it), so a launcher without it names the gap.
    /// </summary>
    public static IGuestEngine Create(LauncherSettings settings, ILoggingAdapter log, PluggedEngineFactory? plugged)
    {
        switch (settings.Engine)
        {
            case EngineKind.Lguest:
                return new LguestEngine(LguestChannel.Open(settings.LguestDevice));
            case EngineKind.Auto when File.Exists(settings.LguestDevice):
                log.Info("engine auto: {LguestDevice} exists, using the lguest engine", settings.LguestDevice);
                return new LguestEngine(LguestChannel.Open(settings.LguestDevice));
            case EngineKind.Auto:
                log.Info("engine auto: {LguestDevice} does not exist (lguest needs a pre-4.14 32-bit host), using the simulated engine", settings.LguestDevice);
                return Create(settings with { Engine = EngineKind.Simulated }, log, plugged);
            case EngineKind.Simulated or EngineKind.LguestModel:
                return plugged?.Invoke(settings) ?? throw new ConfigurationException(
                    "lguest.engine", $"the {EngineName(settings.Engine)} engine is Lguest.DeviceTestKit's, and this launcher was started without it");
            default:
                throw new ConfigurationException("lguest.engine", $"the {settings.Engine} engine does not run a guest in this launcher");
        }
    }

    private static string EngineName(EngineKind engine) => engine == EngineKind.LguestModel ? "lguest-model" : "simulated";
}
