using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// engine = vhost-user: no guest of our own. The devices are served to a front end (QEMU) that runs the guest, each
/// on its configured socket, until the launcher is stopped or a device fails in a way the policy does not forgive.
/// </summary>
internal sealed class VhostUserService : ReceiveActor
{
    private readonly TaskCompletionSource<LauncherExit> _exit;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public VhostUserService(LauncherSettings settings, Func<DeviceSettings, VirtioDevice> createDevice, TaskCompletionSource<LauncherExit> exit)
    {
        _exit = exit;
        int number = 0;
        foreach (DeviceSettings device in settings.Devices)
        {
            VirtioDevice model;
            try
            {
                model = createDevice(device);
            }
            catch (Exception e)
            {
                // A host resource that cannot be had (a tap without CAP_NET_ADMIN, a missing bridge) is a host
                // failure: one line and exit 1, and the devices already made are released as their actors stop.
                LauncherFailure.End(_exit, _log, "device creation", e, prefix: $"device {number + 1} ({device.Socket})");
                Context.Stop(Self);
                break;
            }
            Context.ActorOf(
                VhostUserBackendActor.Props(model, device.Socket!, settings.Supervision), $"{++number}-{model.Name}");
        }
        Receive<Shutdown>(_ =>
        {
            _exit.TrySetResult(new LauncherExit(LauncherExit.PoweredOff, "stopped"));
            Context.Stop(Self);
        });
    }

    public static Props Props(LauncherSettings settings, Func<DeviceSettings, VirtioDevice> createDevice, TaskCompletionSource<LauncherExit> exit)
        => Akka.Actor.Props.Create(() => new VhostUserService(settings, createDevice, exit));

    /// <summary>Whatever a back end escalates ends the service with exit code 1 and one line, as a device failure does under lguest.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, failure =>
    {
        LauncherFailure.End(_exit, _log, "service", failure);
        Context.Stop(Self);
        return Directive.Stop;
    }, loggingEnabled: false); // the host prints the one line; the trace is for --verbose
}
