using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Net.Switch;
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
    private readonly SwitchBoard _switches;

    public VhostUserService(
        LauncherSettings settings, Func<DeviceSettings, VirtioDevice> createDevice, TaskCompletionSource<LauncherExit> exit, ListeningSockets listening)
    {
        _exit = exit;
        _switches = new SwitchBoard(settings.Switches);
        if (!OpenUplinks())
        {
            return;
        }
        int number = 0;
        foreach (DeviceSettings device in settings.Devices)
        {
            VirtioDevice model;
            try
            {
                model = _switches.TryCreatePort(device) ?? createDevice(device);
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
                VhostUserBackendActor.Props(model, device.Socket!, settings.Supervision, listening), $"{++number}-{model.Name}");
        }
        _switches.Start(Context);
        Receive<Shutdown>(_ =>
        {
            _exit.TrySetResult(new LauncherExit(LauncherExit.PoweredOff, "stopped"));
            Context.Stop(Self);
        });
    }

    public static Props Props(
        LauncherSettings settings, Func<DeviceSettings, VirtioDevice> createDevice, TaskCompletionSource<LauncherExit> exit, ListeningSockets listening)
        => Akka.Actor.Props.Create(() => new VhostUserService(settings, createDevice, exit, listening));

    /// <summary>An uplink's tap is a host resource like a device's: one that cannot be had ends the service (exit 1).</summary>
    private bool OpenUplinks()
    {
        try
        {
            _switches.OpenUplinks();
        }
        catch (Exception e)
        {
            string message = LauncherFailure.Describe(e);
            _log.Debug(e, "uplink failed: {Reason}", message);
            _exit.TrySetResult(new LauncherExit(LauncherExit.Failed, message));
            Context.Stop(Self);
            return false;
        }
        foreach (string uplink in _switches.DescribeUplinks())
        {
            _log.Info("{Uplink}", uplink);
        }
        return true;
    }

    /// <summary>Every back end (and so every queue thread on a switch port) has stopped by now: the switches can go.</summary>
    protected override void PostStop() => _switches.Dispose();

    /// <summary>Whatever a back end escalates ends the service with exit code 1 and one line, as a device failure does under lguest.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, failure =>
    {
        LauncherFailure.End(_exit, _log, "service", failure);
        Context.Stop(Self);
        return Directive.Stop;
    }, loggingEnabled: false); // the host prints the one line; the trace is for --verbose
}
