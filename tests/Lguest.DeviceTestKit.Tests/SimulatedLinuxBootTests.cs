using System.Text;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.DeviceTestKit;

namespace Lguest.DeviceTestKit.Tests;

public sealed class SimulatedLinuxBootTests
{
    [Fact]
    public void A_correct_zero_page_boots_prints_banner_and_command_line_on_the_early_console_and_powers_off()
    {
        using var launcher = new HandLauncher("quiet sim.rng=0", []);

        EngineOutcome outcome = launcher.Run();

        Assert.True(Assert.IsType<EngineOutcome.Died>(outcome).IsPowerOff);
        Assert.Equal(
            "Linux version 6.1.0-lguest-sim (simulated lguest guest)\n"
            + "Command line: quiet sim.rng=0\n"
            + "sim: init started (boot 1)\n"
            + "sim: power off\n",
            launcher.EarlyConsole.ToString());
    }

    public static TheoryData<string, string> BadZeroPages => new()
    {
        { "subarch", "hardware_subarch is 0, not 1" },
        { "version", "boot protocol version 2.06 is older than 2.07" },
        { "no-e820", "E820 map has 0 entries" },
        { "e820-not-ram", "E820 entry is type 2 at 0x0" },
        { "unterminated", "command line at 0x1000 is not NUL-terminated within 2048 bytes" },
        { "cmdline-outside", "command line at 0x4000000 is outside RAM" },
        { "initrd-outside", "initrd 0x3fff000-0x4001000 is outside RAM" },
        { "initrd-unaligned", "initrd at 0x800010 is not page-aligned" },
        { "initrd-over-cmdline", "initrd 0x1000-0x2000 overlaps the command line at 0x1000" },
    };

    [Theory]
    [MemberData(nameof(BadZeroPages))]
    public void Each_bad_zero_page_panics_with_a_reason_naming_the_problem(string breakage, string reason)
    {
        using var launcher = new HandLauncher("console=hvc0", []);
        Break(launcher, breakage);

        EngineOutcome outcome = launcher.Run();

        Assert.StartsWith($"CRASH: zero page: {reason}", Assert.IsType<EngineOutcome.Died>(outcome).Reason, StringComparison.Ordinal);
        Assert.Equal(string.Empty, launcher.EarlyConsole.ToString());
    }

    [Fact]
    public void An_entry_point_outside_RAM_panics()
    {
        using var launcher = new HandLauncher("console=hvc0", [], entryPoint: HandLauncher.Ram + 0x1000);
        var died = Assert.IsType<EngineOutcome.Died>(launcher.Run());
        Assert.Equal("CRASH: zero page: entry point 0x4001000 is outside RAM (E820 ends at 0x4000000)", died.Reason);
    }

    [Fact]
    public void Sim_panic_dies_with_the_reason_after_the_devices_are_probed()
    {
        var output = new StringBuilder();
        using var launcher = new HandLauncher("sim.panic=VFS:no-root", [TestServers.Console(output)]);

        Assert.Equal(new EngineOutcome.Died("CRASH: VFS:no-root"), launcher.Run());
        Assert.Contains("virtio: device 0 console: features 0x30000000\n", launcher.EarlyConsole.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sim.bogus=1", "sim: unknown parameter 'sim.bogus=1'")]
    [InlineData("sim.block=erase", "sim: sim.block=erase: expected read, write-read, flush-loop or none")]
    [InlineData("sim.heap=0x1001", "sim: sim.heap=0x1001: expected a page-aligned address")]
    [InlineData("sim.heap=0x3ff0000", "sim: no room for driver buffers at 0x3ff0000: RAM ends at 0x4000000; at least 1024 KiB are needed (set sim.heap)")]
    [InlineData("sim.heap=0x100000", "sim: the heap 0x100000-0x4000000 would cover the kernel's entry point 0x100000 (set sim.heap)")]
    public void Bad_workload_parameters_panic(string commandLine, string reason)
    {
        using var launcher = new HandLauncher(commandLine, []);
        Assert.Equal(new EngineOutcome.Died($"CRASH: {reason}"), launcher.Run());
    }

    [Fact]
    public void Sim_reboot_once_reboots_the_first_boot_only()
    {
        var settings = new SimulatedSettings(TimeSpan.FromSeconds(2), "hello from the guest");
        var first = new StringBuilder();
        using (var launcher = new HandLauncher("sim.reboot=once", [TestServers.Console(first)], settings))
        {
            Assert.Equal(new EngineOutcome.Restart(), launcher.Run());
        }
        var second = new StringBuilder();
        using (var launcher = new HandLauncher("sim.reboot=once", [TestServers.Console(second)], settings))
        {
            Assert.True(Assert.IsType<EngineOutcome.Died>(launcher.Run()).IsPowerOff);
        }

        Assert.Equal("sim: init started (boot 1)\nhello from the guest\nsim: rebooting\n", first.ToString());
        Assert.Equal("sim: init started (boot 2)\nhello from the guest\nsim: power off\n", second.ToString());
        Assert.Equal(2, settings.Boots.Count);
        Assert.Equal(settings, settings with { Boots = new SimulatedBootCounter() });
    }

    private static void Break(HandLauncher launcher, string breakage)
    {
        var memory = launcher.Memory;
        switch (breakage)
        {
            case "subarch": memory.Write(0x23c, 0u); break;
            case "version": memory.Write(0x206, (ushort)0x206); break;
            case "no-e820": memory.Write(0x1e8, (byte)0); break;
            case "e820-not-ram": memory.Write(0x2d0 + 16, 2u); break;
            case "unterminated": memory.Write(0x1000, Enumerable.Repeat((byte)'x', 2048).ToArray()); break;
            case "cmdline-outside": memory.Write(0x228, (uint)HandLauncher.Ram); break;
            case "initrd-outside": SetInitrd(memory, (uint)HandLauncher.Ram - 0x1000, 0x2000); break;
            case "initrd-unaligned": SetInitrd(memory, 0x800010, 0x1000); break;
            case "initrd-over-cmdline": SetInitrd(memory, 0x1000, 0x1000); break;
            default: throw new ArgumentException(breakage);
        }
    }

    private static void SetInitrd(Native.Memory.GuestMemory memory, uint address, uint size)
    {
        memory.Write(0x218, address);
        memory.Write(0x21c, size);
    }
}
