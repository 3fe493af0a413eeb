using System.Text;
using Lguest.Actors.Engines.Qemu.Initramfs;

namespace Lguest.Actors.Tests.Engines.Qemu.Initramfs;

/// <summary>A fact that boots QEMU: skipped with the reason when LGUEST_SKIP_REAL_GUEST is set or QEMU is missing.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class QemuBootFactAttribute : FactAttribute
{
    public QemuBootFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("LGUEST_SKIP_REAL_GUEST") is "1" or "true")
        {
            Skip = "real-guest tests: skipped because LGUEST_SKIP_REAL_GUEST is set";
        }
        else if (!File.Exists("/usr/bin/qemu-system-x86_64") || !File.Exists("/vmlinuz"))
        {
            Skip = "needs qemu-system-x86_64 and /vmlinuz";
        }
    }
}

/// <summary>
/// The built initramfs booted for real, with QEMU's own virtio devices: what the /init contract promises a
/// launcher, checked the way a launcher would use it. Two boots: one per shell mode.
/// </summary>
[Collection("real guest")]
public sealed class InitramfsBootTests : IDisposable
{
    private static readonly TimeSpan BootLimit = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan CommandLimit = TimeSpan.FromSeconds(30);

    private readonly string _cache = Directory.CreateTempSubdirectory("lguest-initramfs-").FullName;
    private readonly string _disk;

    public InitramfsBootTests()
    {
        _disk = Path.Combine(_cache, "disk.img");
        using FileStream disk = File.Create(_disk);
        disk.SetLength(8 << 20);
    }

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [QemuBootFact]
    public void Script_mode_returns_only_command_output_and_end_of_input_syncs_and_powers_off()
    {
        string initramfs = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));
        using var guest = ConsoleGuest.Boot(initramfs, _disk, "console=ttyS0 lguest.interactive=0 lguest.ip=10.0.2.15/24");

        Assert.True(guest.WaitFor("lguest: guest ready\n", BootLimit), guest.Describe());
        guest.Send("cat /sys/block/vda/size\n");
        guest.Send("cat /sys/class/misc/hw_random/rng_current\n");
        guest.Send("ip -4 -o addr show eth0 | sed 's/.* inet \\([^ ]*\\) .*/\\1/'\n");
        guest.Send("ls /sys/bus/pci/drivers | grep -c pvpanic-pci\n");
        guest.Send("cat /proc/sys/kernel/printk | cut -f1\n");
        guest.Send("printf script-synced | dd of=/dev/vda conv=notrunc 2>/dev/null\n");
        guest.Send("echo done\n");
        Assert.True(guest.WaitFor("done\n", CommandLimit), guest.Describe());
        guest.Send("\u0004");

        Assert.Equal(0, guest.WaitForExit(CommandLimit));
        // No echo, no prompt, no CR: exactly what the commands printed.
        Assert.Equal("16384\nvirtio_rng.0\n10.0.2.15/24\n1\n1\ndone\n", guest.After("lguest: guest ready\n"));
        Assert.Equal("script-synced", ReadDisk(13));
    }

    [QemuBootFact]
    public void Interactive_mode_has_a_prompt_echo_and_job_control_and_reboot_goes_through_init_after_a_sync()
    {
        string initramfs = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));
        using var guest = ConsoleGuest.Boot(initramfs, _disk, "console=ttyS0 lguest.interactive=1");

        Assert.True(guest.WaitFor("lguest: guest ready\r\n", BootLimit), guest.Describe());
        Assert.True(guest.WaitFor("lguest:/root# ", CommandLimit), guest.Describe());
        guest.Send("case $- in *m*i*|*i*m*) echo job-control-$((6*7));; esac\n");
        Assert.True(guest.WaitFor("job-control-42\r\n", CommandLimit), guest.Describe());
        Assert.Contains("echo job-control-", guest.After("lguest:/root# "), StringComparison.Ordinal); // echoed back
        guest.Send("printf interactive-synced | dd of=/dev/vda conv=notrunc 2>/dev/null; reboot\n");

        // -action reboot=shutdown: a guest reset ends QEMU with status 0, as a power-off does.
        Assert.Equal(0, guest.WaitForExit(CommandLimit));
        Assert.Contains("Requesting system reboot", guest.Serial, StringComparison.Ordinal);
        Assert.Contains("reboot: Restarting system", guest.Serial, StringComparison.Ordinal);
        Assert.Equal("interactive-synced", ReadDisk(18));
    }

    private string ReadDisk(int length)
    {
        byte[] bytes = new byte[length];
        using FileStream disk = File.OpenRead(_disk);
        disk.ReadExactly(bytes);
        return Encoding.ASCII.GetString(bytes);
    }
}
