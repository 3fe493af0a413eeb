using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Transports.VhostUser;

/// <summary>Our back end, in the test's actor system, serving one device on its socket with engine = vhost-user.</summary>
internal static class VhostUserBackend
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Starts serving <paramref name="device"/> and returns once its socket is listening.</summary>
    public static Task<LauncherExit> Serve(ActorSystem system, DeviceSettings device, CancellationToken shutdown)
    {
        using var settingsSource = new TestGuest();
        LauncherSettings settings = settingsSource.Settings with { Engine = EngineKind.VhostUser, Kernel = string.Empty, Devices = [device] };
        var console = new FileDescriptor(0, ownsHandle: false);
        var environment = new GuestEnvironment(
            _ => throw new InvalidOperationException("vhost-user runs no engine"),
            d => DeviceFactory.Create(d, console, console, system.Log),
            console,
            console);
        Task<LauncherExit> exit = GuestLauncher.RunAsync(system, settings, environment, shutdown);
        if (!SpinWait.SpinUntil(() => File.Exists(device.Socket!) || exit.IsCompleted, Patience))
        {
            throw new TimeoutException($"{device.Socket} never appeared");
        }
        return exit;
    }
}
