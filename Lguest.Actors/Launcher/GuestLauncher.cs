using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Transports.VhostUser;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;

namespace Lguest.Actors.Launcher;

/// <summary>The entry point the host calls: builds the actor tree for one guest in an existing actor system.</summary>
public static class GuestLauncher
{
    private static int s_launches;

    /// <summary>
    /// Starts the guest described by <paramref name="settings"/> on the process's terminal; with engine vhost-user,
    /// serves its devices to a front end instead, until <paramref name="shutdown"/> or a device failure. The task completes when
    /// the guest powers off (0), dies or a device fails (1), or <paramref name="shutdown"/> is cancelled (0, "stopped").
    /// <paramref name="pluggedEngines"/> provides the engines that are not the runtime's (Lguest.DeviceTestKit's simulated and
    /// lguest-model engines); without it those engines are a configuration error. <paramref name="listening"/> holds the
    /// vhost-user sockets the host bound before the actor system existed (without it, each back end binds its own).
    /// </summary>
    public static Task<LauncherExit> RunAsync(
        ActorSystem system, LauncherSettings settings, CancellationToken shutdown, PluggedEngineFactory? pluggedEngines = null,
        ListeningSockets? listening = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Engine == EngineKind.Auto)
        {
            (EngineKind engine, string reason) = EngineSelector.Resolve(settings);
            system.Log.Info("engine auto: {Reason}, so the {Engine} engine", reason, engine.ToString().ToLowerInvariant());
            settings = settings with { Engine = engine };
        }
        return RunAsync(system, settings, DefaultEnvironment(system, settings, DropPrivileges(system, settings), pluggedEngines), shutdown, listening);
    }

    /// <summary>As above, with the engine, devices and console given explicitly (tests, embedding).</summary>
    public static async Task<LauncherExit> RunAsync(
        ActorSystem system, LauncherSettings settings, GuestEnvironment environment, CancellationToken shutdown,
        ListeningSockets? listening = null)
    {
        var exit = new TaskCompletionSource<LauncherExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        Props props = settings.Engine == EngineKind.VhostUser
            ? VhostUserService.Props(settings, environment.CreateDevice, exit, listening ?? ListeningSockets.None)
            : LauncherActor.Props(settings, environment, exit);
        IActorRef launcher = system.ActorOf(props, $"launcher-{Interlocked.Increment(ref s_launches)}");
        using (shutdown.Register(() => launcher.Tell(new Shutdown())))
        {
            LauncherExit result = await exit.Task.ConfigureAwait(false);

            // The terminal is restored and every queue thread joined when the tree has stopped, not before.
            try
            {
                await launcher.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TaskCanceledException)
            {
            }
            return result;
        }
    }

    /// <summary>
    /// The seed's last step before running the guest: chroot and become the configured user, once every file,
    /// the tap and /dev/lguest are open. Null when neither is configured.
    /// </summary>
    private static Action? DropPrivileges(ActorSystem system, LauncherSettings settings)
    {
        if (settings.Chroot is null && settings.User is null)
        {
            return null;
        }
        return () =>
        {
            if (settings.Chroot is not null)
            {
                int loaded = AssemblyPreloader.LoadReferencedClosure();
                system.Log.Debug("loaded {Count} more assemblies before the chroot", loaded);
            }
            Privileges.Apply(settings.Chroot, settings.User);
            system.Log.Info("privileges: chroot {Chroot}, user {User}", settings.Chroot ?? "(none)", settings.User ?? "(unchanged)");
        };
    }

    /// <summary>The process's own stdin and stdout, the engine the settings pick, and the standard devices.</summary>
    public static GuestEnvironment DefaultEnvironment(
        ActorSystem system, LauncherSettings settings, Action? afterFirstSetup = null, PluggedEngineFactory? pluggedEngines = null)
    {
        var input = new FileDescriptor(0, ownsHandle: false);
        var output = new FileDescriptor(1, ownsHandle: false);
        return new GuestEnvironment(
            s => EngineSelector.Create(s, system.Log, pluggedEngines),
            d => DeviceFactory.Create(d, input, output, system.Log),
            input,
            output,
            afterFirstSetup);
    }
}
