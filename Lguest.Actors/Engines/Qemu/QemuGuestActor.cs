using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Transports.VhostUser;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// One boot of a real Linux under QEMU. QEMU supplies the CPU and memory; everything else is ours: each disk, rng
/// and net device is served over vhost-user by a back-end actor (a child, so a reboot resets it), except a net
/// device on an external socket (a switch port), which QEMU connects to itself; the console and
/// serial port come to our sockets, and QMP is the run loop. Supervised by the launcher actor exactly as
/// the lguest engine's guest actor is: a guest reset throws <see cref="GuestRebootRequestedException"/>, and the restart
/// starts a fresh QEMU on fresh devices over the same disk, in the same launcher process.
/// </summary>
internal sealed class QemuGuestActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan SocketPollInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan SocketWaitLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QuitGrace = TimeSpan.FromSeconds(3);

    private readonly LauncherSettings _settings;
    private readonly GuestEnvironment _environment;
    private readonly QemuSession _session;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<QemuDevice> _devices = [];
    private QemuConsole? _console;
    private QmpChannel? _qmp;
    private QemuProcess? _qemu;
    private QemuMessages.QemuExited? _exited;
    private string? _shutdownReason;
    private bool _panicked;
    private bool _qmpClosed;
    private DateTime _waitingSince;

    public QemuGuestActor(LauncherSettings settings, GuestEnvironment environment, QemuSession session)
    {
        _settings = settings;
        _environment = environment;
        _session = session;

        Receive<QemuMessages.StartWhenReady>(_ => StartWhenReady());
        Receive<QemuMessages.QmpReady>(ready =>
            _log.Info("QEMU {Version} (pid {Pid}) is running the guest, {Milliseconds:F0} ms after the launcher started",
                ready.Version, _qemu?.Pid ?? 0, (DateTime.UtcNow - _session.LauncherStarted).TotalMilliseconds));
        Receive<QemuMessages.QmpEvent>(OnEvent);
        Receive<QemuMessages.QmpClosed>(closed =>
        {
            _qmpClosed = true;
            _log.Debug("QMP closed: {Reason}", closed.Reason);
            DecideIfOver();
        });
        Receive<QemuMessages.QemuExited>(exited =>
        {
            _exited = exited;
            _qmpClosed |= _qmp?.Connected != true;
            DecideIfOver();
        });
        Receive<QemuMessages.QemuStderr>(line => _log.Warning("qemu: {Line}", line.Line));
        Receive<QemuMessages.ConsoleAborted>(_ =>
        {
            _log.Info("three ^C on the console: stopping");
            Context.Parent.Tell(new Shutdown());
        });
        Receive<QemuMessages.ConsoleFailed>(failed => Finish(new LauncherExit(LauncherExit.Failed, failed.Reason)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(LauncherSettings settings, GuestEnvironment environment, QemuSession session)
        => Akka.Actor.Props.Create(() => new QemuGuestActor(settings, environment, session)).WithDispatcher(Dispatchers.Guest);

    /// <summary>
    /// A back end escalates only what the policy does not forgive (a device failure under kill-launcher): QEMU is
    /// asked to quit at once, so the guest stops touching the device, and the launcher ends naming the device.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ =>
    {
        _qmp?.Quit();
        return Directive.Escalate;
    });

    /// <summary>
    /// Sets up one boot: the runtime directory (emptied of anything a previous boot left), the console and QMP
    /// sockets, and one back-end actor per device. QEMU starts once every device socket is listening.
    /// </summary>
    protected override void PreStart()
    {
        int boot = _session.NextBoot();
        _session.Directory.Clear();
        _console = new QemuConsole(_session.Directory.File("console.sock"), _session.Directory.File("serial.sock"),
            _environment.ConsoleInput, _environment.ConsoleOutput, Self);
        _qmp = new QmpChannel(_session.Directory.File("qmp.sock"), Self);

        int number = 0;
        foreach (DeviceSettings device in _settings.Devices)
        {
            if (device is ConsoleSettings)
            {
                continue;
            }
            if (device is NetSettings { VhostUserSocket: { } external })
            {
                // Another process's port (a switch): QEMU connects to it directly; it is not ours to start or reset.
                _devices.Add(new QemuDevice(device, Path.GetFullPath(external), External: true));
                continue;
            }
            var model = _environment.CreateDevice(device);
            string socket = _session.Directory.File($"{++number}-{model.Name}.sock");
            Context.ActorOf(VhostUserBackendActor.Props(model, socket, _settings.Supervision), $"{number}-{model.Name}");
            _devices.Add(new QemuDevice(device, socket));
        }
        if (boot == 1)
        {
            _log.Info("qemu engine: {Accelerator}, runtime directory {Directory}", _session.Accelerator.Kvm ? "KVM" : "TCG", _session.Directory.Path);
            _log.Info("accelerator: {Reason}", _session.Accelerator.Reason);
            _environment.AfterFirstSetup?.Invoke();
        }
        _waitingSince = DateTime.UtcNow;
        Self.Tell(new QemuMessages.StartWhenReady());
    }

    /// <summary>The back ends bind their sockets in their own PreStart; QEMU's connect fails if one is not there yet.</summary>
    private void StartWhenReady()
    {
        if (!_devices.All(d => d.External || File.Exists(d.Socket)))
        {
            if (DateTime.UtcNow - _waitingSince > SocketWaitLimit)
            {
                throw new InvalidOperationException($"the device sockets in {_session.Directory.Path} did not appear within {SocketWaitLimit.TotalSeconds:F0} s");
            }
            Timers.StartSingleTimer("sockets", new QemuMessages.StartWhenReady(), SocketPollInterval);
            return;
        }
        IReadOnlyList<string> args = QemuCommandLine.Build(_settings, _session.Accelerator,
            new QemuSockets(_session.Directory.File("console.sock"), _session.Directory.File("serial.sock"), _session.Directory.File("qmp.sock")),
            _devices, _console!.Interactive);
        _log.Info("guest {Boot}: {MiB} MiB, {Devices} device(s) over vhost-user, console {Console}",
            _session.Boots, _settings.MemoryBytes >> 20, _devices.Count, _console.Interactive ? "interactive" : "script (stdin is not a terminal)");
        if (_settings.Verbose)
        {
            _log.Info("$ {CommandLine}", QemuCommandLine.Describe(_settings.Qemu.Binary, args));
        }
        if (_session.Boots == 1)
        {
            _log.Info("launcher start-up took {Milliseconds:F0} ms before QEMU's exec", (DateTime.UtcNow - _session.LauncherStarted).TotalMilliseconds);
        }
        _qemu = QemuProcess.Start(_settings.Qemu.Binary, args, Self);
    }

    /// <summary>
    /// Only remembers why QEMU is about to stop: with reboot=shutdown it exits by itself after SHUTDOWN, and the
    /// decision waits for that exit. A panic pauses the guest, so QEMU is told to quit.
    /// </summary>
    private void OnEvent(QemuMessages.QmpEvent e)
    {
        _log.Debug("QMP event {Event} {Reason}", e.Name, e.Reason ?? "");
        switch (e.Name)
        {
            case "SHUTDOWN":
                _shutdownReason ??= e.Reason;
                break;
            case "GUEST_PANICKED":
                if (!_panicked)
                {
                    _panicked = true;
                    _qmp!.Quit();
                }
                break;
        }
    }

    /// <summary>
    /// QEMU is gone and its last QMP event read: now we know why. A power-off ends the launcher with 0, a reset
    /// reboots through supervision, and anything else (a panic, a crash, a kill) ends it with 1 and QEMU's last words.
    /// </summary>
    private void DecideIfOver()
    {
        if (_exited is not { } exited || !_qmpClosed)
        {
            return;
        }
        if (_panicked)
        {
            Finish(new LauncherExit(LauncherExit.Failed, "the guest kernel panicked"));
        }
        else if (_shutdownReason == "guest-reset")
        {
            throw new GuestRebootRequestedException();
        }
        else if (_shutdownReason == "guest-shutdown")
        {
            Finish(new LauncherExit(LauncherExit.PoweredOff, "guest powered off"));
        }
        else
        {
            string tail = exited.StderrTail.Length > 0 ? $": {exited.StderrTail}" : "";
            string why = _shutdownReason is null ? "" : $" after SHUTDOWN ({_shutdownReason})";
            Finish(new LauncherExit(LauncherExit.Failed, $"QEMU (pid {exited.Pid}) {QemuProcess.DescribeStatus(exited.Status)}{why}{tail}"));
        }
    }

    /// <summary>The launcher decides how the process ends; this boot only reports how it ended.</summary>
    private void Finish(LauncherExit exit) => Context.Parent.Tell(new GuestFinished(exit));

    /// <summary>A reboot: this QEMU and its sockets go now; Akka stops the back ends before the next boot starts.</summary>
    protected override void PreRestart(Exception reason, object message)
    {
        TearDown();
        foreach (IActorRef child in Context.GetChildren())
        {
            Context.Stop(child);
        }
    }

    /// <summary>The guest is over for good: QEMU, the console (and the terminal's mode) and the runtime directory go.</summary>
    protected override void PostStop()
    {
        TearDown();
        _session.Dispose();
    }

    /// <summary>Asks QEMU to quit, gives it a moment, then kills and reaps it; every path out of a boot comes here.</summary>
    private void TearDown()
    {
        if (_qemu is not null)
        {
            if (_exited is null)
            {
                _qmp?.Quit();
                if (!_qemu.WaitForExit(QuitGrace))
                {
                    _log.Warning("QEMU (pid {Pid}) did not quit within {Seconds} s: killing it", _qemu.Pid, QuitGrace.TotalSeconds);
                }
            }
            _qemu.Dispose();
            _qemu = null;
        }
        _qmp?.Dispose();
        _qmp = null;
        _console?.Dispose();
        _console = null;
    }
}
