using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.Qemu;
using Lguest.Native.Boot;
using Lguest.Native.Memory;

namespace Lguest.Actors.Engines;

/// <summary>
/// What is checked before any actor exists, so that a wrong file is a one-line usage error (exit 2) whichever engine
/// runs it: a "kernel" that is not one used to pass under auto (which then picked the simulated engine) and fail
/// only when the guest was set up, as if the guest had died (exit 1).
/// </summary>
internal static class EnginePreflight
{
    /// <summary>Returns <paramref name="settings"/> ready to launch (the qemu engine fills in its initramfs).</summary>
    /// <exception cref="ConfigurationException">The first problem, naming its key.</exception>
    public static LauncherSettings Check(LauncherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        EngineKind engine = EngineSelector.Resolve(settings).Engine;
        if (engine is EngineKind.Lguest or EngineKind.Simulated or EngineKind.LguestModel)
        {
            ProbeKernel(settings);
        }
        // Every engine, not only qemu: it also refuses a device on an external vhost-user back end elsewhere.
        return QemuPreflight.Check(settings, engine);
    }

    /// <summary>The same loader the engines use, into throw-away memory of the guest's size: only the verdict matters.</summary>
    internal static void ProbeKernel(LauncherSettings settings)
    {
        try
        {
            using GuestMemory memory = GuestMemory.CreateFlat(settings.MemoryBytes);
            KernelLoader.Load(memory, settings.Kernel);
        }
        catch (BootImageException e)
        {
            throw new ConfigurationException("lguest.kernel", e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException("lguest.kernel", $"cannot read {settings.Kernel}: {e.Message}");
        }
    }
}
