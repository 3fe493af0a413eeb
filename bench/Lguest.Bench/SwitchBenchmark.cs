using System.Buffers.Binary;
using System.Diagnostics;
using Akka.Actor;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Net.Switch;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Rig;

namespace Lguest.Bench;

/// <summary>
/// The switch alone: two ports of one switch on the TestKit's device rig, each a simulated guest's virtio-net card
/// (the TestKit's net driver), sending to each other both ways at once with a window of frames in flight. Every
/// frame goes guest ring, kick, the sender's transmit thread, the switch's table and the receiver's queue, the
/// receiver's receive thread, its guest's buffer, interrupt: the whole switch path with no tap and no QEMU.
/// </summary>
internal static class SwitchBenchmark
{
    /// <summary>Frames in flight per direction: the driver's 16 transmit slots and 16 receive buffers.</summary>
    private const int Window = 16;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(500);

    public static IEnumerable<ResultRow> Run(BenchOptions options, TextWriter log)
    {
        foreach (int frameBytes in new[] { 64, 1514 })
        {
            log.WriteLine($"  switch: {frameBytes}-byte frames ...");
            yield return Measure(options, frameBytes);
        }
    }

    private static ResultRow Measure(BenchOptions options, int frameBytes)
    {
        using var network = new NetworkSwitch(new SwitchSettings("bench", 64, TimeSpan.FromMinutes(5), 256));
        SwitchPort a = network.AddPort("a"), b = network.AddPort("b");
        byte[] macA = [0x02, 0, 0, 0, 0, 0x0a], macB = [0x02, 0, 0, 0, 0, 0x0b];
        using var rig = new DeviceRig(() => new SwitchPortDevice(a, macA), () => new SwitchPortDevice(b, macB));
        using ActorSystem system = ActorSystem.Create("switch-bench", DeviceRig.AkkaConfig);
        long frames = 0;
        TimeSpan elapsed = TimeSpan.Zero, cpu = TimeSpan.Zero;

        LauncherExit exit = rig.RunAsync(system, guest =>
        {
            NetDriver[] nic = guest.Devices.Select(d => new NetDriver(guest.Hv, guest.Heap, d, guest.Timeout)).ToArray();
            SpinWait.SpinUntil(() => a.IsAttached && b.IsAttached, Patience);
            byte[] toB = Frame(macB, macA, frameBytes), toA = Frame(macA, macB, frameBytes);
            // Each learns the other from a first frame, so the measured frames are all known unicast.
            nic[0].Send(Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], macA, 60));
            Receive(nic[1]);
            nic[1].Send(toA);
            Receive(nic[0]);

            Exchange(nic, toA, toB, Warmup); // JIT and tiering, off the clock
            var process = Process.GetCurrentProcess();
            TimeSpan cpuBefore = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            frames = Exchange(nic, toA, toB, options.MeasureFor);
            elapsed = clock.Elapsed;
            process.Refresh();
            cpu = process.TotalProcessorTime - cpuBefore;
        }).GetAwaiter().GetResult();

        if (exit.ExitCode != LauncherExit.PoweredOff || frames == 0)
        {
            throw new InvalidOperationException($"switch bench: the launcher exited {exit.ExitCode} ({exit.Message}) after {frames} frames");
        }
        double seconds = elapsed.TotalSeconds;
        return new ResultRow("switch", $"{frameBytes}-byte frames, 2 ports both ways, {Window} in flight each (IOPS = frames/s)", "lguest switch, simulated guests")
        {
            Iops = frames / seconds,
            MegabytesPerSecond = frames * (double)frameBytes / seconds / 1e6,
            NsPerOp = elapsed.TotalNanoseconds / frames,
            CpuSecondsPerMillion = cpu.TotalSeconds / frames * 1e6,
        };
    }

    /// <summary>Both ways for <paramref name="duration"/>: a window of frames sent each way, then all of them received.</summary>
    private static long Exchange(NetDriver[] nic, byte[] toA, byte[] toB, TimeSpan duration)
    {
        long frames = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (int i = 0; i < Window; i++)
            {
                nic[0].Send(toB);
                nic[1].Send(toA);
            }
            for (int i = 0; i < Window; i++)
            {
                Receive(nic[1]);
                Receive(nic[0]);
            }
            frames += 2 * Window;
        }
        return frames;
    }

    private static void Receive(NetDriver driver)
    {
        if (driver.TryReceive(Patience) is null)
        {
            throw new SimulatedGuestException("switch bench: a frame never arrived");
        }
    }

    private static byte[] Frame(byte[] destination, byte[] source, int length)
    {
        byte[] frame = new byte[length];
        destination.CopyTo(frame, 0);
        source.CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x88b5);
        return frame;
    }
}
