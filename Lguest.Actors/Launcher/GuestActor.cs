using Akka.Actor;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Actors.Transports.LguestBus;
using Lguest.Native.Boot;
using Lguest.Native.Lguest;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Launcher;

/// <summary>
/// Owns one guest, as the seed's main() and run_guest() did: it lays out guest memory, describes the devices on
/// the lguest device page, loads the kernel and initrd, writes the zero page, initializes the engine, and then
/// handles every NOTIFY that the run loop hands it. It is the lguest transport: devices below it see guest memory
/// and queues only.
///
/// A reboot throws <see cref="GuestRebootRequestedException"/> so the launcher's supervisor restarts this actor:
/// fresh memory, kernel reloaded, new device actors, the same configuration.
/// </summary>
internal sealed class GuestActor : ReceiveActor
{
    private readonly LauncherSettings _settings;
    private readonly GuestEnvironment _environment;
    private readonly GuestIncarnation _incarnation;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<GuestDevice> _devices = [];
    private IGuestEngine? _engine;
    private GuestMemory? _memory;
    private LguestBus? _bus;
    private NotifyRouter? _router;
    private RunLoop? _runLoop;
    private int _awaitingDevices;

    public GuestActor(LauncherSettings settings, GuestEnvironment environment, GuestIncarnation incarnation)
    {
        _settings = settings;
        _environment = environment;
        _incarnation = incarnation;

        Receive<EngineOutcome.Notify>(n => OnNotify(n.Address));
        Receive<EngineOutcome.Died>(OnDied);
        Receive<EngineOutcome.Restart>(_ => throw new GuestRebootRequestedException());
        Receive<RunLoopFailed>(f => throw new InvalidOperationException($"running the guest failed: {f.Cause.Message}", f.Cause));
        Receive<DeviceProtocol.Activated>(_ => DeviceSettled());
        Receive<DeviceProtocol.WasReset>(_ =>
        {
            ClearRings(_devices.Single(d => d.Actor.Equals(Sender)));
            DeviceSettled();
        });
        Receive<DeviceProtocol.NeedsReset>(OnDeviceNeedsReset);
    }

    public static Props Props(LauncherSettings settings, GuestEnvironment environment, GuestIncarnation incarnation)
        => Akka.Actor.Props.Create(() => new GuestActor(settings, environment, incarnation)).WithDispatcher(Dispatchers.Guest);

    /// <summary>Anything a device escalates ends the guest: the launcher decides what that means.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate, loggingEnabled: false);

    protected override void PreStart()
    {
        _incarnation.DisposeRemains();
        _incarnation.Boots++;

        _engine = _environment.CreateEngine(_settings);
        _memory = GuestMemory.CreateFlat(_settings.MemoryBytes + (ulong)LguestAbi.DEVICE_PAGES * LguestAbi.PageSize);
        _bus = new LguestBus(_memory, _settings.MemoryBytes);
        AddDevices();

        LoadedKernel kernel = KernelLoader.Load(_memory, _settings.Kernel, _settings.MemoryBytes);
        InitrdPlacement? initrd = string.IsNullOrEmpty(_settings.Initrd)
            ? null
            : InitrdLoader.Load(_memory, _settings.MemoryBytes, _settings.Initrd, kernel);
        BootParameters.Write(_memory, _settings.MemoryBytes, _settings.CommandLine, initrd, kernel);
        _router = new NotifyRouter(
            _bus.Devices.Select(d => (d.DescriptorAddress, (IReadOnlyList<ulong>)d.Virtqueues.Select(q => q.RingAddress).ToList())),
            _bus.GuestLimit);

        _log.Info("guest {Boot}: {MiB} MiB on the {Engine} engine, {KernelFormat} kernel entry {EntryPoint:x}, {Devices} device(s)",
            _incarnation.Boots, _settings.MemoryBytes >> 20, _engine.Name, kernel.Format, kernel.EntryPoint, _devices.Count);
        // LHREQ_INITIALIZE is written by the run-loop thread, the one that will read: the kernel binds the guest to it.
        _runLoop = new RunLoop(_engine, Self, _memory, _bus.GuestLimit, kernel.EntryPoint);
        _runLoop.Initialize();

        if (_incarnation.Boots == 1)
        {
            _environment.AfterFirstSetup?.Invoke();
        }
        _runLoop.Start();
    }

    /// <summary>
    /// On a reboot the children are still stopping when this runs, and their queues still read guest memory:
    /// the memory and engine go to the next incarnation, which disposes them once every child is gone.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _runLoop?.Dispose();
        _runLoop = null;
        foreach (IActorRef child in Context.GetChildren())
        {
            Context.Stop(child);
        }
        _incarnation.Leave(_engine, _memory);
        _engine = null;
        _memory = null;
        DisposeKicks();
    }

    /// <summary>Children have stopped by now (Akka stops them before a parent's PostStop), so memory can go.</summary>
    protected override void PostStop()
    {
        _runLoop?.Dispose();
        _engine?.Dispose();
        _memory?.Dispose();
        DisposeKicks();
    }

    /// <summary>The queue actors hold duplicates, so ours can go whether or not they have stopped yet.</summary>
    private void DisposeKicks()
    {
        foreach (GuestDevice device in _devices)
        {
            device.DisposeKicks();
        }
    }

    private void AddDevices()
    {
        int number = 0;
        foreach (DeviceSettings deviceSettings in _settings.Devices)
        {
            VirtioDevice device = _environment.CreateDevice(deviceSettings);
            LguestDevice record;
            try
            {
                record = _bus!.AddDevice(device.DeviceType, device.Name);
                foreach (QueueDefinition queue in device.Queues)
                {
                    record.AddVirtqueue(queue.Size);
                }
                for (int bit = 0; bit < 64; bit++)
                {
                    if ((device.OfferedFeatures & (1UL << bit)) != 0)
                    {
                        record.AddFeature(bit);
                    }
                }
                record.SetConfig(device.Config.Span);
            }
            catch
            {
                device.Dispose();
                throw;
            }

            IActorRef actor = Context.ActorOf(DeviceActor.Props(device, _settings.Supervision), $"{++number}-{device.Name}");
            _devices.Add(new GuestDevice(device, record, actor));
            if (_settings.Verbose)
            {
                _log.Info("device {Number}: {Description}", number, device.Describe());
            }
        }
    }

    private void OnNotify(ulong address)
    {
        switch (_router!.Route(address))
        {
            case NotifyTarget.StatusChange status:
                OnStatusChange(_devices[status.Device]);
                break;
            case NotifyTarget.QueueKick kick:
                OnEarlyKick(_devices[kick.Device]);
                break;
            case NotifyTarget.EarlyConsole console:
                EarlyConsole.Write(_memory!, console.Address, _bus!.GuestLimit, _environment.ConsoleOutput);
                Resume();
                break;
            case NotifyTarget.Invalid invalid:
                throw new GuestViolationException($"bad NOTIFY 0x{invalid.Address:x}: outside the guest (limit 0x{_bus!.GuestLimit:x})");
        }
    }

    /// <summary>The seed's update_device_status: 0 resets, FAILED resets a running device, DRIVER_OK starts it.</summary>
    private void OnStatusChange(GuestDevice device)
    {
        byte status = device.Record.Status;
        if (status == 0)
        {
            ResetDevice(device);
        }
        else if ((status & DeviceStatus.Failed) != 0)
        {
            _log.Warning("device {Device}: the driver set FAILED", device.Model.Name);
            if (device.Running)
            {
                ResetDevice(device);
            }
            else
            {
                Resume();
            }
        }
        else if ((status & DeviceStatus.DriverOk) != 0 && !device.Running)
        {
            StartDevice(device);
        }
        else
        {
            Resume();
        }
    }

    /// <summary>A kick on a queue with no eventfd yet: the driver is using the device before DRIVER_OK, so start it.</summary>
    private void OnEarlyKick(GuestDevice device)
    {
        if (!device.Running)
        {
            StartDevice(device);
            return;
        }
        if (_settings.Supervision.GuestErrors == GuestErrorPolicy.KillLauncher)
        {
            throw new GuestViolationException($"notification on running device {device.Model.Name}");
        }
        _log.Warning("device {Device}: notification on a running device ignored", device.Model.Name);
        Resume();
    }

    private void StartDevice(GuestDevice device)
    {
        ulong features = device.Record.AcknowledgedFeatures & device.Record.OfferedFeatures;
        VirtqueueFeatures ringFeatures = VirtqueueFeatureBits.FromNegotiated(features);

        var wirings = new List<QueueWiring>();
        foreach (LguestVirtqueueInfo queue in device.Record.Virtqueues)
        {
            var kick = Native.Interop.EventFd.Adopt(AttachedKick(device, queue).Descriptor.Duplicate());
            wirings.Add(new QueueWiring(
                queue.Index,
                device.Model.Queues[queue.Index].Name,
                _memory!,
                SplitQueueLayout.Legacy(queue.RingAddress, queue.Size, LguestAbi.LGUEST_VRING_ALIGN),
                ringFeatures,
                kick,
                new EngineInterruptLine(_engine!, queue.Irq)));
        }
        device.Running = true;
        if (_settings.Verbose)
        {
            _log.Info("device {Device} OK: offered {Offered:x}, accepted {Accepted:x}", device.Model.Name, device.Record.OfferedFeatures, features);
        }
        _awaitingDevices++;
        device.Actor.Tell(new DeviceProtocol.Activate(_memory!, features, wirings));
    }

    /// <summary>
    /// The queue's eventfd, attached to its ring address the first time the device starts and kept for the guest's
    /// life. The kernel's table only grows and the first match wins, so an eventfd attached after a reset would never
    /// see a kick: they would all go to the first one. Each activation gets a duplicate (the queue actor owns and
    /// closes it); kicks that arrive while the device is reset wait in the shared counter for the next activation.
    /// </summary>
    private Native.Interop.EventFd AttachedKick(GuestDevice device, LguestVirtqueueInfo queue)
    {
        if (device.Kicks[queue.Index] is { } attached)
        {
            return attached;
        }
        var kick = Native.Interop.EventFd.Create();
        try
        {
            _engine!.AttachEventFd(queue.RingAddress, kick);
        }
        catch
        {
            kick.Dispose();
            throw;
        }
        device.Kicks[queue.Index] = kick;
        return kick;
    }

    /// <summary>
    /// The seed's reset_device, reached from status 0 and from FAILED on a running device alike: both forget what
    /// the guest acknowledged, so the next DRIVER_OK negotiates afresh instead of starting with a stale feature set.
    /// </summary>
    private void ResetDevice(GuestDevice device)
    {
        if (_settings.Verbose)
        {
            _log.Info("resetting device {Device}", device.Model.Name);
        }
        device.Record.ResetAcknowledgedFeatures();
        device.Running = false;
        _awaitingDevices++;
        device.Actor.Tell(new DeviceProtocol.Reset());
    }

    /// <summary>The guest stays paused while a device starts or resets, as it did while the seed handled the NOTIFY.</summary>
    private void DeviceSettled()
    {
        if (_awaitingDevices > 0 && --_awaitingDevices == 0)
        {
            Resume();
        }
    }

    /// <summary>
    /// The ring pages belong to the launcher in lguest, and the seed zeroed them on every reset: a driver that
    /// starts the device again must not find the previous session's (possibly hostile) entries waiting.
    /// Called once the device has confirmed that no queue thread reads them any more.
    /// </summary>
    private void ClearRings(GuestDevice device)
    {
        foreach (LguestVirtqueueInfo queue in device.Record.Virtqueues)
        {
            _memory!.Clear(queue.RingAddress, queue.RingBytes);
        }
    }

    private void OnDeviceNeedsReset(DeviceProtocol.NeedsReset needsReset)
    {
        GuestDevice device = _devices.Single(d => d.Model.Name == needsReset.Device && d.Actor.Equals(Sender));
        device.Running = false;
        ulong statusAddress = device.Record.DescriptorAddress + LguestAbi.DescriptorStatusOffset;
        _memory!.Write(statusAddress, (byte)(_memory.Read<byte>(statusAddress) | DeviceStatus.NeedsReset));
        _log.Warning("device {Device} needs a reset by the driver: {Reason}", device.Model.Name, needsReset.Reason);
    }

    private void OnDied(EngineOutcome.Died died)
    {
        LauncherExit exit = died.IsPowerOff
            ? new LauncherExit(LauncherExit.PoweredOff, "guest powered off")
            : new LauncherExit(LauncherExit.Failed, died.Reason);
        Context.Parent.Tell(new GuestFinished(exit));
    }

    private void Resume() => _runLoop?.Resume();

    private sealed class GuestDevice(VirtioDevice model, LguestDevice record, IActorRef actor)
    {
        public VirtioDevice Model { get; } = model;

        public LguestDevice Record { get; } = record;

        public IActorRef Actor { get; } = actor;

        public bool Running { get; set; }

        /// <summary>Per queue, the eventfd attached to the engine (null until the device first starts).</summary>
        public Native.Interop.EventFd?[] Kicks { get; } = new Native.Interop.EventFd?[record.Virtqueues.Count];

        public void DisposeKicks()
        {
            foreach (Native.Interop.EventFd? kick in Kicks)
            {
                kick?.Dispose();
            }
        }
    }
}
