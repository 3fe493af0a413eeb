using System.Text;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit;
using Lguest.Native.Boot;
using Lguest.Native.Lguest;
using Lguest.Native.Memory;
using Lguest.Native.Tests.Boot;
using Lguest.Native.Virtio;

namespace Lguest.DeviceTestKit.Tests;

/// <summary>A device the test puts on the bus, and the code that serves each of its queues.</summary>
internal sealed record TestDevice(byte Type, int Queues, ulong Features, byte[] Config, Action<HandLauncher, int, SplitQueue>? Serve);

/// <summary>
/// The launcher's side written out by hand, with no actors: lays out memory and the device page with
/// <see cref="LguestBus"/>, loads a tiny ELF kernel and writes the zero page with the real loaders, then runs the
/// <see cref="SimulatedEngine"/> in a loop, handling every NOTIFY as the launcher would: status changes are recorded
/// (and DRIVER_OK builds the device side of each queue), queue kicks are served on this thread by the test's code,
/// anything else is an early-console string.
/// </summary>
internal sealed class HandLauncher : IDisposable
{
    public const ulong Ram = 64UL << 20;
    public const ulong KernelAddress = 0x100000;

    private readonly Dictionary<ulong, (int Device, int Queue)> _rings = [];
    private readonly Dictionary<(int, int), SplitQueue> _queues = [];
    private readonly string _kernelPath = Path.Combine(Path.GetTempPath(), $"sim-kernel-{Guid.NewGuid():N}");

    public HandLauncher(string commandLine, IReadOnlyList<TestDevice> devices, SimulatedSettings? settings = null, Action<ISimulatedHypervisor>? guest = null, ulong? entryPoint = null)
    {
        Devices = devices;
        Settings = settings ?? new SimulatedSettings(TimeSpan.FromSeconds(2), string.Empty);
        Memory = GuestMemory.CreateFlat(Ram + (ulong)LguestAbi.DEVICE_PAGES * LguestAbi.PageSize);
        Bus = new LguestBus(Memory, Ram);
        foreach (TestDevice device in devices)
        {
            LguestDevice record = Bus.AddDevice(device.Type, VirtioNumbers.DeviceName(device.Type));
            for (int q = 0; q < device.Queues; q++)
            {
                LguestVirtqueueInfo info = record.AddVirtqueue();
                _rings[info.RingAddress] = (record.Index, q);
            }
            for (int bit = 0; bit < 32; bit++)
            {
                if ((device.Features & (1UL << bit)) != 0)
                {
                    record.AddFeature(bit);
                }
            }
            record.SetConfig(device.Config);
        }

        var elf = new ElfImageBuilder(is64: false) { Entry = KernelAddress };
        elf.Segment(ElfImageBuilder.PtLoad, KernelAddress, new byte[256], 0x1000);
        File.WriteAllBytes(_kernelPath, elf.Build());
        LoadedKernel kernel = KernelLoader.Load(Memory, _kernelPath);
        BootParameters.Write(Memory, Ram, commandLine, null, kernel);

        Engine = new SimulatedEngine(Settings, guest);
        EntryPoint = entryPoint ?? kernel.EntryPoint;
    }

    public IReadOnlyList<TestDevice> Devices { get; }

    public SimulatedSettings Settings { get; }

    public GuestMemory Memory { get; }

    public LguestBus Bus { get; }

    public SimulatedEngine Engine { get; }

    public ulong EntryPoint { get; }

    /// <summary>What the guest printed through the early console.</summary>
    public StringBuilder EarlyConsole { get; } = new();

    /// <summary>Every status byte the guest notified, per device in order.</summary>
    public Dictionary<int, List<byte>> StatusWrites { get; } = [];

    /// <summary>Whether served queues may interrupt the guest; false tests drivers that must poll.</summary>
    public bool RaiseInterrupts { get; set; } = true;

    /// <summary>Device-side failures (virtio violations) met while serving, instead of failing the run.</summary>
    public List<Exception> DeviceErrors { get; } = [];

    public SplitQueue Queue(int device, int queue) => _queues[(device, queue)];

    public bool IsStarted(int device) => _queues.ContainsKey((device, 0));

    /// <summary>Runs the guest until it dies, reboots or <paramref name="limit"/> passes (then Stopped).</summary>
    public EngineOutcome Run(TimeSpan? limit = null)
    {
        Engine.Initialize(Memory, Bus.GuestLimit, EntryPoint);
        using var watchdog = new Timer(_ => Engine.Stop(), null, limit ?? TimeSpan.FromSeconds(20), Timeout.InfiniteTimeSpan);
        while (true)
        {
            EngineOutcome outcome = Engine.Run();
            if (outcome is not EngineOutcome.Notify notify)
            {
                return outcome;
            }
            Handle(notify.Address);
        }
    }

    /// <summary>Serves one queue again from outside a kick (e.g. after queuing input), interrupting if asked.</summary>
    public void Service(int device, int queue)
    {
        SplitQueue q = _queues[(device, queue)];
        try
        {
            // As a device's service loop does: drain, then re-arm notifications (with EVENT_IDX that publishes
            // avail_event) and drain again if the driver slipped a buffer in meanwhile.
            do
            {
                Devices[device].Serve?.Invoke(this, queue, q);
            }
            while (q.EnableNotifications());
        }
        catch (VirtqueueException e)
        {
            DeviceErrors.Add(e);
            return;
        }
        if (q.NeedsNotification() && RaiseInterrupts)
        {
            Engine.Interrupt(Bus.Devices[device].Virtqueues[queue].Irq);
        }
    }

    public void Dispose()
    {
        Engine.Dispose();
        Memory.Dispose();
        File.Delete(_kernelPath);
    }

    private void Handle(ulong address)
    {
        if (Bus.FindDevice(address) is { } device)
        {
            byte status = device.Status;
            if (!StatusWrites.TryGetValue(device.Index, out List<byte>? writes))
            {
                StatusWrites[device.Index] = writes = [];
            }
            writes.Add(status);
            if ((status & 4) != 0 && !IsStarted(device.Index))
            {
                VirtqueueFeatures ring = VirtqueueFeatureBits.FromNegotiated(device.AcknowledgedFeatures & device.OfferedFeatures);
                foreach (LguestVirtqueueInfo info in device.Virtqueues)
                {
                    _queues[(device.Index, info.Index)] = new SplitQueue(Memory, SplitQueueLayout.Legacy(info.RingAddress, info.Size, 4096), ring);
                }
            }
            return;
        }
        if (_rings.TryGetValue(address, out (int Device, int Queue) kicked))
        {
            if (!IsStarted(kicked.Device))
            {
                throw new InvalidOperationException($"kick on device {kicked.Device} before DRIVER_OK");
            }
            Service(kicked.Device, kicked.Queue);
            return;
        }
        // The early console: a NUL-terminated string in guest memory.
        var bytes = new List<byte>();
        for (ulong a = address; a < Bus.GuestLimit; a++)
        {
            byte b = Memory.Read<byte>(a);
            if (b == 0)
            {
                break;
            }
            bytes.Add(b);
        }
        EarlyConsole.Append(Encoding.UTF8.GetString([.. bytes]));
    }
}
