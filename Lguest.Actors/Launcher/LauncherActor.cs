using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Engines.Qemu;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Launcher;

/// <summary>
/// The supervisor of one guest, and the only place that decides how the launcher ends. A reboot request restarts
/// the guest actor; any other failure, from the guest or escalated by a device, stops it and ends the launcher
/// with exit code 1 and one line naming the cause, as the seed's "kill the launcher" did.
/// </summary>
internal sealed class LauncherActor : ReceiveActor
{
    private readonly TaskCompletionSource<LauncherExit> _exit;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _guest;

    public LauncherActor(LauncherSettings settings, GuestEnvironment environment, TaskCompletionSource<LauncherExit> exit)
    {
        _exit = exit;
        var incarnation = new GuestIncarnation();
        _guest = Context.ActorOf(
            settings.Engine == EngineKind.Qemu
                ? QemuGuestActor.Props(settings, environment, QemuSession.Start(settings))
                : GuestActor.Props(settings, environment, incarnation),
            "guest");
        Context.Watch(_guest);

        Receive<GuestFinished>(finished =>
        {
            _exit.TrySetResult(finished.Exit);
            Context.Stop(_guest);
        });
        Receive<Shutdown>(_ =>
        {
            _exit.TrySetResult(new LauncherExit(LauncherExit.PoweredOff, "stopped"));
            Context.Stop(_guest);
        });
        Receive<Terminated>(_ =>
        {
            incarnation.Dispose();
            _exit.TrySetResult(new LauncherExit(LauncherExit.Failed, "the guest stopped unexpectedly"));
            Context.Stop(Self);
        });
    }

    public static Props Props(LauncherSettings settings, GuestEnvironment environment, TaskCompletionSource<LauncherExit> exit)
        => Akka.Actor.Props.Create(() => new LauncherActor(settings, environment, exit));

    // Decide logs what a user needs; Akka's own failure log would add ERR and a stack trace to every reboot.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(Decide, loggingEnabled: false);

    private Directive Decide(Exception failure)
    {
        if (failure is GuestRebootRequestedException)
        {
            _log.Info("guest reboot requested: restarting it");
            return Directive.Restart;
        }
        LauncherFailure.End(_exit, _log, "guest", failure);
        return Directive.Stop;
    }
}
