using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.DeviceSimulation;
using Lguest.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Launcher;

/// <summary>
/// The device page for the seed's own command line, byte for byte, as the guest finds it through the real lguest
/// engine and the kernel model. The expected bytes are worked out by hand from lguest.c below, not from our code.
/// </summary>
public sealed class SeedDevicePageTests(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    [Fact]
    public async Task Tunnet_block_rng_lays_out_the_page_as_lguest_c_does_with_the_console_last()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"lguest-seedpage-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(disk, new byte[1 << 20]); // 1 MiB: 2048 sectors
        try
        {
            // lguest --tunnet=192.168.19.1:02:00:00:00:00:01 --block=DISK --rng 32 vmlinux
            IReadOnlyList<DeviceSettings> devices = LauncherSettingsReader.FromSeedArguments(
                ["--tunnet=192.168.19.1:02:00:00:00:00:01", $"--block={disk}", "--rng", "32", disk]).Devices;
            using var rig = new SimulatedGuestRig(devices);
            byte[] page = new byte[4096];
            ulong guestLimit = 0;

            LauncherExit exit = await rig.RunAsync(Sys, guest =>
            {
                guest.Hv.Memory.Read(SimulatedGuestRig.MemoryBytes, page);
                guestLimit = guest.Hv.GuestLimit;
            });

            Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
            byte[] expected = new byte[4096];
            SeedLayout.CopyTo(expected, 0);
            Assert.Equal(expected, page);
            // tell_kernel(): guest_limit / getpagesize() = RAM pages + the device page + 6 queues x 3 ring pages.
            Assert.Equal(SimulatedGuestRig.MemoryBytes + ((1 + (6 * 3)) * 4096UL), guestLimit);
        }
        finally
        {
            File.Delete(disk);
        }
    }

    /// <summary>
    /// RAM is 32 MiB (0x2000000). main() takes devices.descpage = get_pages(1) first, so the device page is pfn 0x2000,
    /// and every add_virtqueue() then takes vring_size(256, 4096) rounded up to pages: 16*256 = 4096 bytes of
    /// descriptors, the avail ring (6 + 2*256 = 518) ends at 4614, the used ring starts at the next 4096 boundary
    /// (8192) and is 6 + 8*256 = 2054 bytes, 10246 in all: 3 pages. IRQs come from devices.next_irq, starting at 1.
    /// Devices appear in getopt order (--tunnet, --block, --rng), then setup_console() after getopt adds the console.
    /// A record is struct lguest_device_desc (type, num_vq, feature_len, config_len, status), num_vq lguest_vqconfig
    /// (u16 num, u16 irq, u32 pfn, little-endian), feature_len offered bytes, feature_len acknowledged bytes, config.
    /// </summary>
    private static readonly byte[] SeedLayout =
    [
        // --- setup_tun_net("192.168.19.1:02:00:00:00:00:01"), page offset 0 ---
        1, 2, 4, 8, 0,                  // VIRTIO_ID_NET; 2 queues; feature_len = INDIRECT_DESC(28)/8 + 1 = 4; sizeof(virtio_net_config) = 8
        0x00, 0x01, 1, 0, 0x01, 0x20, 0, 0, // net_input: num 256, irq 1, pfn 0x2001 (first page after the device page)
        0x00, 0x01, 2, 0, 0x04, 0x20, 0, 0, // net_output: num 256, irq 2, pfn 0x2004
        0xA3,                           // CSUM(0) | GUEST_CSUM(1) | MAC(5, a MAC follows the ':') | GUEST_TSO4(7)
        0x3B,                           // GUEST_TSO6(8) | GUEST_ECN(9) | HOST_TSO4(11) | HOST_TSO6(12) | HOST_ECN(13); no UFO
        0x00,                           // bits 16-23: none
        0x10,                           // VIRTIO_RING_F_INDIRECT_DESC (28)
        0, 0, 0, 0,                     // acknowledged: nothing yet
        0x02, 0, 0, 0, 0, 0x01,         // conf.mac from str2mac("02:00:00:00:00:01")
        0, 0,                           // conf.status: left uninitialized by the seed (STATUS is not offered); we write 0

        // --- setup_block_file(DISK), offset 37 ---
        2, 1, 2, 16, 0,                 // VIRTIO_ID_BLOCK; 1 queue; feature_len = FLUSH(9)/8 + 1 = 2; offsetof(virtio_blk_config, geometry) = 16
        0x00, 0x01, 3, 0, 0x07, 0x20, 0, 0, // blk_request: num 256, irq 3, pfn 0x2007
        0x04,                           // SEG_MAX (2)
        0x02,                           // FLUSH (9)
        0, 0,                           // acknowledged
        0x00, 0x08, 0, 0, 0, 0, 0, 0,   // capacity = 1 MiB / 512 = 2048 sectors
        0, 0, 0, 0,                     // size_max: left uninitialized by the seed (SIZE_MAX is not offered); we write 0
        0xFE, 0, 0, 0,                  // seg_max = VIRTQUEUE_NUM - 2 = 254

        // --- setup_rng(), offset 70 ---
        4, 1, 0, 0, 0,                  // VIRTIO_ID_RNG; 1 queue; no features; no config
        0x00, 0x01, 4, 0, 0x0A, 0x20, 0, 0, // rng_input: num 256, irq 4, pfn 0x200a

        // --- setup_console() after getopt, offset 83: the LAST device ---
        3, 2, 0, 0, 0,                  // VIRTIO_ID_CONSOLE; 2 queues; no features; no config
        0x00, 0x01, 5, 0, 0x0D, 0x20, 0, 0, // console_input: num 256, irq 5, pfn 0x200d
        0x00, 0x01, 6, 0, 0x10, 0x20, 0, 0, // console_output: num 256, irq 6, pfn 0x2010

        // offset 104: type 0, the end of the devices; the rest of the page is zero.
    ];
}
