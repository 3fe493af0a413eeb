namespace Lguest.Host.Tests.RealGuest;

/// <summary>The harness itself, without QEMU: the command line it builds and how it reads a console.</summary>
public sealed class QemuGuestTests
{
    [Fact]
    public void The_command_line_is_the_projects_with_one_chardev_per_vhost_user_socket()
    {
        var guest = new QemuGuest("/tmp/i.cpio.gz", kernel: "/vmlinuz")
            .Check("blk-size", "rng", "net-ping")
            .Param("blk.mib", 4)
            .Param("ping", "10.78.0.1")
            .VhostUserBlk("/run/blk.sock")
            .VhostUserRng("/run/rng.sock")
            .VhostUserNet("/run/net.sock");

        Assert.Equal("qemu-system-x86_64", guest.FileName);
        Assert.Equal(
            [
                "-accel", "tcg", "-m", "256", "-M", "pc,memory-backend=mem",
                "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-nographic", "-no-reboot",
                "-kernel", "/vmlinuz", "-initrd", "/tmp/i.cpio.gz",
                "-append", "console=ttyS0 quiet panic=-1 lguest.check=blk-size,rng,net-ping lguest.blk.mib=4 lguest.ping=10.78.0.1",
                "-chardev", "socket,id=c0,path=/run/blk.sock", "-device", "vhost-user-blk-pci,chardev=c0",
                "-chardev", "socket,id=c1,path=/run/rng.sock", "-device", "vhost-user-rng-pci,chardev=c1",
                "-chardev", "socket,id=c2,path=/run/net.sock", "-netdev", "vhost-user,id=n0,chardev=c2",
                "-device", "virtio-net-pci,netdev=n0,romfile=,vectors=0",
            ],
            guest.Arguments());
    }

    [Fact]
    public void A_reboot_test_drops_no_reboot_and_a_namespace_runs_qemu_under_ip_netns_exec()
    {
        var guest = new QemuGuest("/i", kernel: "/k") { AllowReboot = true, NetworkNamespace = "ns1" }
            .VirtioDrive("/tmp/a,b.img");

        Assert.Equal("ip", guest.FileName);
        IReadOnlyList<string> args = guest.Arguments();
        Assert.Equal(["netns", "exec", "ns1", "qemu-system-x86_64", "-accel", "tcg"], args.Take(6));
        Assert.DoesNotContain("-no-reboot", args);
        Assert.Equal(["-drive", "file=/tmp/a,,b.img,format=raw,if=virtio"], args.TakeLast(2));
        Assert.Equal("console=ttyS0 quiet panic=-1", guest.KernelCommandLine);
    }

    [Fact]
    public void Kernel_parameters_must_be_single_words()
    {
        var guest = new QemuGuest("/i", kernel: "/k");

        Assert.Throws<ArgumentException>(() => guest.Param("blk.marker", "two words"));
        Assert.Throws<ArgumentException>(() => guest.Param("blk.marker", ""));
    }

    [Fact]
    public void The_console_parser_finds_tags_after_firmware_escapes_and_numbers_the_boots()
    {
        string[] console =
        [
            "Booting from ROM...",
            "\u001bc\u001b[?7l\u001b[2JLGUEST-BOOT 1\r",
            "LGUEST-CHECK blk-size 50331648\r",
            "LGUEST-REBOOT\r",
            "Booting from ROM..\u001bc\u001b[?7l\u001b[2JLGUEST-BOOT 2\r",
            "LGUEST-CHECK blk-size 50331648\r",
            "LGUEST-CHECK rng virtio_rng.0 64\r",
            "LGUEST-CHECK blk-marker\r",
            "LGUEST-DONE\r",
            "[    5.290796] reboot: Power down\r",
        ];

        GuestRun run = GuestRun.Parse(0, false, TimeSpan.FromSeconds(3), console, "");

        Assert.Equal([1, 2], run.Boots);
        Assert.True(run.Done);
        Assert.Equal("50331648", run.Check("blk-size", boot: 1));
        Assert.Equal("50331648", run.Check("blk-size"));
        Assert.Equal("virtio_rng.0 64", run.Check("rng"));
        Assert.Equal("", run.Check("blk-marker"));
        Assert.Equal(new GuestCheck("rng", "virtio_rng.0 64", 2), run.Checks[2]);
        run.EnsureDone();
    }

    [Fact]
    public void A_run_without_LGUEST_DONE_is_not_done()
    {
        GuestRun run = GuestRun.Parse(0, false, TimeSpan.FromSeconds(1), ["LGUEST-BOOT 1", "Kernel panic - not syncing"], "");

        Assert.False(run.Done);
        Assert.ThrowsAny<Exception>(() => run.EnsureDone());
    }

    [Fact]
    public void The_kernel_release_comes_from_the_bzImage_header()
    {
        byte[] image = new byte[0x1000];
        "HdrS"u8.CopyTo(image.AsSpan(0x202));
        image[0x20E] = 0x00;
        image[0x20F] = 0x02; // kernel_version = 0x200, so the string is at 0x400
        "6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0"u8.CopyTo(image.AsSpan(0x400));
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, image);
            Assert.Equal("6.1.0-56-cloud-amd64", RealGuestRequirements.ReadKernelRelease(path));
            File.WriteAllBytes(path, new byte[0x1000]);
            Assert.Null(RealGuestRequirements.ReadKernelRelease(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
