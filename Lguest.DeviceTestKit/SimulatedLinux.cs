using Lguest.Actors.Configuration;

using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>
/// A stand-in for a Linux kernel under lguest, doing to the launcher exactly what Linux's lguest and virtio drivers
/// do: it checks the zero page, prints its banner through the early console, walks the device page, binds a driver
/// to each device (status bytes, features, rings at the host's pfns), runs a small /init chosen by the command line
/// (<see cref="WorkloadOptions"/>) and powers off. Anything it cannot live with is a panic with a clear reason.
/// <para>Early console lines, in order: <see cref="Banner"/>, "Command line: CMDLINE", then per device one of
/// "virtio: device I NAME: features 0xF", "virtio: device I type T: no driver",
/// "virtio: device I NAME: probe failed: REASON". The workload's lines are in <see cref="SimulatedWorkload"/>.</para>
/// </summary>
public sealed class SimulatedLinux
{
    public const string Banner = "Linux version 6.1.0-lguest-sim (simulated lguest guest)";

    /// <summary>Less heap than this cannot hold the drivers' buffers.</summary>
    public const ulong MinimumHeap = 1024 * 1024;

    private readonly ISimulatedHypervisor _hv;
    private readonly SimulatedSettings _settings;

    public SimulatedLinux(ISimulatedHypervisor hv, SimulatedSettings settings)
    {
        ArgumentNullException.ThrowIfNull(hv);
        ArgumentNullException.ThrowIfNull(settings);
        _hv = hv;
        _settings = settings;
    }

    /// <summary>The kernel's entry point: returns only if the hypervisor lets a halted guest go on (test doubles).</summary>
    public void Boot()
    {
        try
        {
            Run();
        }
        catch (SimulatedGuestException e)
        {
            _hv.Panic(e.Message);
        }
    }

    private void Run()
    {
        BootInfo boot = BootInfo.Read(_hv.Memory, _hv.EntryPoint);
        WorkloadOptions options = WorkloadOptions.Parse(boot.CommandLine);
        GuestPageAllocator heap = CreateHeap(boot, options.Heap);
        var early = new EarlyConsoleWriter(_hv, heap);
        early.Print(Banner + "\n");
        early.Print($"Command line: {boot.CommandLine}\n");

        var drivers = new SimulatedDrivers();
        foreach (ProbedDevice device in LguestBusScanner.Scan(_hv.Memory, boot.RamSize, _hv.GuestLimit))
        {
            early.Print(Probe(device, heap, drivers) + "\n");
        }

        if (options.Panic is { } reason)
        {
            _hv.Panic(reason);
            return;
        }
        int bootNumber = _settings.Boots.Next();
        Action<string> print = drivers.Consoles.Count > 0 ? drivers.Consoles[0].Write : early.Print;
        new SimulatedWorkload(options, _settings, drivers, print).Run(bootNumber);
        if (options.RebootOnce && bootNumber == 1)
        {
            print("sim: rebooting\n");
            _hv.Reboot();
            return;
        }
        print("sim: power off\n");
        _hv.PowerOff();
    }

    /// <summary>Binds the driver for one device, as the virtio core matches drivers by id; returns the line to print.</summary>
    private string Probe(ProbedDevice device, GuestPageAllocator heap, SimulatedDrivers drivers)
    {
        TimeSpan timeout = _settings.InterruptTimeout;
        try
        {
            ulong features;
            switch (device.Type)
            {
                case VirtioNumbers.DeviceConsole:
                    var console = new ConsoleDriver(_hv, heap, device, timeout);
                    drivers.Consoles.Add(console);
                    features = console.Features;
                    break;
                case VirtioNumbers.DeviceBlock:
                    var block = new BlockDriver(_hv, heap, device, timeout);
                    drivers.Disks.Add(block);
                    features = block.Features;
                    break;
                case VirtioNumbers.DeviceRng:
                    var rng = new RngDriver(_hv, heap, device, timeout);
                    drivers.Rngs.Add(rng);
                    features = rng.Features;
                    break;
                case VirtioNumbers.DeviceNet:
                    var net = new NetDriver(_hv, heap, device, timeout);
                    drivers.Nics.Add(net);
                    features = net.Features;
                    break;
                default:
                    // No driver claims it: the virtio core acknowledged it and leaves it there.
                    device.AddStatus(_hv, DriverStatus.Acknowledge);
                    return $"virtio: device {device.Index} type {device.Type}: no driver";
            }
            return $"virtio: device {device.Index} {device.Name}: features 0x{features:x}";
        }
        catch (SimulatedGuestException e) when ((device.Status & DriverStatus.Failed) != 0)
        {
            // The driver refused the device and marked it FAILED; the kernel carries on without it.
            return $"virtio: device {device.Index} {device.Name}: probe failed: {e.Message}";
        }
    }

    /// <summary>
    /// The heap for driver buffers: from <paramref name="start"/> up to the initrd (or the end of RAM), which the
    /// loaders leave free. It must not cover the command line or the entry point.
    /// </summary>
    private GuestPageAllocator CreateHeap(BootInfo boot, ulong start)
    {
        ulong end = boot.InitrdSize != 0 ? boot.InitrdAddress : boot.RamSize;
        if (start < 0x2000 || start >= end || end - start < MinimumHeap)
        {
            throw new SimulatedGuestException(
                $"sim: no room for driver buffers at 0x{start:x}: RAM ends at 0x{boot.RamSize:x}"
                + (boot.InitrdSize != 0 ? $", the initrd starts at 0x{boot.InitrdAddress:x}" : string.Empty)
                + $"; at least {MinimumHeap >> 10} KiB are needed (set sim.heap)");
        }
        if (_hv.EntryPoint >= start && _hv.EntryPoint < end)
        {
            throw new SimulatedGuestException($"sim: the heap 0x{start:x}-0x{end:x} would cover the kernel's entry point 0x{_hv.EntryPoint:x} (set sim.heap)");
        }
        if (boot.CommandLineAddress != 0 && boot.CommandLineAddress >= start && boot.CommandLineAddress < end)
        {
            throw new SimulatedGuestException($"sim: the heap 0x{start:x}-0x{end:x} would cover the command line at 0x{boot.CommandLineAddress:x} (set sim.heap)");
        }
        return new GuestPageAllocator(_hv.Memory, start, end);
    }
}
