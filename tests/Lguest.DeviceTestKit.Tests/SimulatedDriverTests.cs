using System.Text;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit;
using Lguest.Native.Virtio;

namespace Lguest.DeviceTestKit.Tests;

public sealed class SimulatedDriverTests
{
    [Fact]
    public void A_plain_boot_binds_console_block_and_rng_exercises_each_once_and_powers_off()
    {
        var output = new StringBuilder();
        byte[] disk = new byte[64 * 512];
        using var launcher = new HandLauncher("root=/dev/vda", [TestServers.Console(output), TestServers.Block(disk), TestServers.Rng()]);

        Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);

        Assert.Equal(
            "Linux version 6.1.0-lguest-sim (simulated lguest guest)\n"
            + "Command line: root=/dev/vda\n"
            + "virtio: device 0 console: features 0x30000000\n"
            + "virtio: device 1 block: features 0x30000204\n"
            + "virtio: device 2 rng: features 0x30000000\n",
            launcher.EarlyConsole.ToString());
        Assert.Equal(
            "sim: init started (boot 1)\n"
            + "block: vda 64 sectors\n"
            + "block: vda id lguest-sim-disk\n"
            + "block: vda read sector 0 OK\n"
            + "rng: read 16 bytes\n"
            + "sim: power off\n",
            output.ToString());
        // ACKNOWLEDGE, then DRIVER, then DRIVER_OK, each written and notified on its own, for every device.
        for (int device = 0; device < 3; device++)
        {
            Assert.Equal([1, 3, 7], launcher.StatusWrites[device]);
        }
        Assert.Equal(0x30000204UL, launcher.Bus.Devices[1].AcknowledgedFeatures);
        Assert.All(disk, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(false, false, 1)]
    [InlineData(true, false, 2)]
    [InlineData(false, true, 1)]
    [InlineData(true, true, 2)]
    public void Block_write_flush_read_round_trips_with_split_headers_and_indirect_tables(bool split, bool indirect, int headerDescriptors)
    {
        byte[] disk = new byte[256 * 512];
        var seen = new List<int>();
        byte[] data = Enumerable.Range(0, 5 * 4096 + 512).Select(i => (byte)(i * 13)).ToArray();
        BlockResult? read = null;
        byte[] statuses = [];
        using var launcher = new HandLauncher("sim.block=none", [TestServers.Block(disk, seen)], guest: hv => Guest(hv, (heap, devices) =>
        {
            var block = new BlockDriver(hv, heap, devices[0], TimeSpan.FromSeconds(2)) { SplitHeader = split, UseIndirect = indirect };
            statuses = [block.Write(10, data), block.Flush()];
            read = block.Read(10, data.Length / 512);
        }));

        Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);

        Assert.Equal([0, 0], statuses);
        Assert.Equal(data, disk.AsSpan(10 * 512, data.Length).ToArray());
        Assert.Equal(data, read!.Data);
        Assert.Equal((uint)data.Length + 1, read.UsedLength);
        // The write carried the header plus six page-sized segments; flush and read only the header.
        Assert.Equal([headerDescriptors + 6, headerDescriptors, headerDescriptors], seen);
    }

    [Fact]
    public void Block_write_read_workload_writes_a_marker_and_reads_it_back()
    {
        var output = new StringBuilder();
        byte[] disk = new byte[8 * 512];
        using var launcher = new HandLauncher("sim.block=write-read sim.rng=0", [TestServers.Console(output), TestServers.Block(disk)]);

        launcher.Run();

        Assert.Contains("block: vda 8 sectors\nblock: vda write-read OK\n", output.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("lguest-sim marker, boot 1", Encoding.ASCII.GetString(disk, 0, 64), StringComparison.Ordinal);
    }

    [Fact]
    public void Console_echo_reads_lines_from_input_and_writes_them_back()
    {
        var output = new StringBuilder();
        var input = new Queue<string>(["hello\nwor", "ld\r\n"]);
        using var launcher = new HandLauncher("sim.console-echo=3", [TestServers.Console(output, input)]);

        Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);

        Assert.Equal("sim: init started (boot 1)\necho: hello\necho: world\necho: timeout\nsim: power off\n", output.ToString());
    }

    [Fact]
    public void Rng_returns_what_the_device_gave_even_when_short()
    {
        var output = new StringBuilder();
        using var launcher = new HandLauncher("sim.rng=100", [TestServers.Console(output), TestServers.Rng(most: 30)]);

        launcher.Run();

        // 30 + 30 + 30 + 10: the workload asks again until it has them all.
        Assert.Contains("rng: read 100 bytes\n", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Net_reads_its_mac_sends_a_test_frame_and_echoes_received_frames_back()
    {
        var output = new StringBuilder();
        var sent = new List<byte[]>();
        byte[] peer = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
        byte[] mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        byte[] frame = [.. mac, .. peer, 0x08, 0x00, .. Enumerable.Repeat((byte)7, 50)];
        using var launcher = new HandLauncher("sim.net=echo:1", [TestServers.Console(output), TestServers.Net(sent, new Queue<byte[]>([frame]), mac)]);

        launcher.Run();

        Assert.Contains("net: eth0 mac 02:11:22:33:44:55\nnet: eth0 echoed 64 bytes\n", output.ToString(), StringComparison.Ordinal);
        byte[] echoed = Assert.Single(sent);
        Assert.Equal([.. peer, .. mac], echoed[..12]);
        Assert.Equal(frame[12..], echoed[12..]);
        Assert.Equal(0x20UL | (1UL << 28) | (1UL << 29), launcher.Bus.Devices[1].AcknowledgedFeatures);
    }

    [Fact]
    public void Net_send_puts_the_test_frame_behind_a_zeroed_header()
    {
        var output = new StringBuilder();
        var sent = new List<byte[]>();
        byte[] mac = [0x02, 1, 2, 3, 4, 5];
        using var launcher = new HandLauncher("sim.rng=0", [TestServers.Console(output), TestServers.Net(sent, new Queue<byte[]>(), mac)]);

        launcher.Run();

        Assert.Contains("net: eth0 sent 60 bytes\n", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(SimulatedWorkload.TestFrame(mac), Assert.Single(sent));
    }

    [Fact]
    public void Drivers_complete_by_polling_when_the_device_never_interrupts()
    {
        var output = new StringBuilder();
        byte[] disk = new byte[16 * 512];
        using var launcher = new HandLauncher("sim.block=write-read", [TestServers.Console(output), TestServers.Block(disk), TestServers.Rng()])
        {
            RaiseInterrupts = false,
        };

        Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);

        Assert.Contains("block: vda write-read OK\nrng: read 16 bytes\n", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, launcher.Engine.InterruptsRaised);
    }

    [Fact]
    public void A_driver_that_does_not_support_the_ring_features_acknowledges_neither_and_still_works()
    {
        byte[] disk = new byte[16 * 512];
        byte status = 0xff;
        using var launcher = new HandLauncher("", [TestServers.Block(disk)], guest: hv => Guest(hv, (heap, devices) =>
        {
            var block = new BlockDriver(hv, heap, devices[0], TimeSpan.FromSeconds(2), supportedFeatures: 1UL << BlockDriver.FeatureFlush);
            status = block.Write(0, new byte[512]);
        }));

        launcher.Run();

        Assert.Equal(0, status);
        Assert.Equal(1UL << 9, launcher.Bus.Devices[0].AcknowledgedFeatures);
    }

    [Fact]
    public void A_device_without_enough_queues_is_marked_failed_and_the_kernel_carries_on()
    {
        var output = new StringBuilder();
        using var launcher = new HandLauncher("", [TestServers.Console(output), new TestDevice(2, 0, 0, new byte[8], null)]);

        Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);

        Assert.Contains("virtio: device 1 block: probe failed: virtio block (device 1): 0 queue(s), the driver needs 1\n", launcher.EarlyConsole.ToString(), StringComparison.Ordinal);
        Assert.Equal([1, 3, 131], launcher.StatusWrites[1]);
    }

    [Theory]
    [InlineData("bad-head", VirtqueueViolation.HeadOutOfRange)]
    [InlineData("loop", VirtqueueViolation.ChainTooLong)]
    [InlineData("ahead", VirtqueueViolation.AvailIndexTooFarAhead)]
    public void Fault_helpers_break_the_ring_the_way_they_say(string fault, VirtqueueViolation expected)
    {
        using var launcher = new HandLauncher("", [TestServers.Rng()], guest: hv => Guest(hv, (heap, devices) =>
        {
            var rng = new RngDriver(hv, heap, devices[0], TimeSpan.FromSeconds(2));
            switch (fault)
            {
                case "bad-head": GuestFaults.PublishBadHead(rng.Queue); break;
                case "loop": GuestFaults.PublishLoopedChain(rng.Queue, heap); break;
                default: GuestFaults.RunAvailableIndexAhead(rng.Queue); break;
            }
        }));

        Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);

        var error = Assert.IsType<VirtqueueException>(Assert.Single(launcher.DeviceErrors));
        Assert.Equal(expected, error.Violation);
    }

    [Fact]
    public void A_console_that_stops_consuming_leaves_delivered_input_unread()
    {
        var output = new StringBuilder();
        string? line = "unset";
        var input = new Queue<string>(["ignored\n"]);
        using var launcher = new HandLauncher("", [TestServers.Console(output, input)], guest: hv => Guest(hv, (heap, devices) =>
        {
            var console = new ConsoleDriver(hv, heap, devices[0], TimeSpan.FromSeconds(2)) { ConsumeInput = false };
            line = console.ReadLine(TimeSpan.FromMilliseconds(50));
        }));

        launcher.Run();

        Assert.Null(line);
        Assert.Equal(1, launcher.Queue(0, 0).UsedIndex);
    }

    [Fact]
    public void The_fault_helpers_for_reboot_and_death_halt_the_guest()
    {
        using (var launcher = new HandLauncher("", [], guest: GuestFaults.RequestReboot))
        {
            Assert.Equal(new EngineOutcome.Restart(), launcher.Run());
        }
        using (var launcher = new HandLauncher("", [], guest: hv => GuestFaults.Die(hv, "Oops")))
        {
            Assert.Equal(new EngineOutcome.Died("CRASH: Oops"), launcher.Run());
        }
    }

    /// <summary>A guest program that probes the bus like the kernel, hands the devices to <paramref name="body"/>, and powers off.</summary>
    private static void Guest(ISimulatedHypervisor hv, Action<GuestPageAllocator, IReadOnlyList<ProbedDevice>> body)
    {
        IReadOnlyList<ProbedDevice> devices = LguestBusScanner.Scan(hv.Memory, HandLauncher.Ram, hv.GuestLimit);
        body(new GuestPageAllocator(hv.Memory, 16 << 20, 32 << 20), devices);
        hv.PowerOff();
    }
}
