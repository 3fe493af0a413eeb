using Xunit.Abstractions;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>
/// Real guests on our devices: QEMU runs Debian's cloud kernel and the test initramfs, and Lguest.Host serves its
/// disk, rng and network over vhost-user. The checks mirror <see cref="QemuPeerTests"/>, which run the same guest
/// on QEMU's own devices.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class VhostUserRealGuestTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-vhost-guest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [RealGuestFact]
    public async Task A_real_kernel_uses_our_disk_and_rng_over_vhost_user()
    {
        string image = QemuPeerTests.CreateDisk(_directory);
        string expectedSum = QemuPeerTests.Sha256(image, 0, QemuPeerTests.SumMiB << 20);
        string blk = Path.Combine(_directory, "blk.sock");
        string rng = Path.Combine(_directory, "rng.sock");
        GuestRun run;
        using (LguestBackend backend = LguestBackend.Start(_directory, $$"""
            lguest {
              engine = vhost-user
              devices = [
                { type = block, path = "{{image}}", socket = "{{blk}}" }
                { type = rng, socket = "{{rng}}" }
              ]
            }
            """, [blk, rng]))
        {
            run = await (await QemuPeerTests.BlockGuestAsync(output))
                    .Check("rng")
                    .VhostUserBlk(blk)
                    .VhostUserRng(rng)
                    .RunAsync();
            output.WriteLine(backend.Stderr);
            run.EnsureDone();
            Assert.True(backend.Stop() == 0, backend.Stderr);
        }

        // /dev/vda has the file's size and checksum; the fsync'd marker and the O_DIRECT pattern are in the file.
        QemuPeerTests.AssertBlockChecks(run, image, expectedSum);
        Assert.Equal("virtio_rng.0 64", run.Check("rng"));
    }

    [RealGuestFact(RealGuestNeeds.NetNamespace)]
    public async Task A_real_kernel_pings_the_host_end_of_our_tap_over_vhost_user()
    {
        string name = $"lguest-vu-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        HostTools.Check("ip", "netns", "add", name);
        try
        {
            string net = Path.Combine(_directory, "net.sock");
            using LguestBackend backend = LguestBackend.Start(_directory, $$"""
                lguest {
                  engine = vhost-user
                  devices = [ { type = net, address = "10.79.0.1", socket = "{{net}}" } ]
                }
                """, [net], networkNamespace: name);

            GuestRun run = await new QemuGuest(await TestInitramfs.GetAsync()) { NetworkNamespace = name, Log = output }
                    .Check("net-ping")
                    .Param("ip", "10.79.0.2/24")
                    .Param("ping", "10.79.0.1")
                    .VhostUserNet(net)
                    .RunAsync();
            output.WriteLine(backend.Stderr);
            run.EnsureDone();

            Assert.Equal("ok 3/3", run.Check("net-ping"));
            Assert.True(backend.Stop() == 0, backend.Stderr);
        }
        finally
        {
            HostTools.Run("ip", "netns", "del", name);
        }
    }

    [RealGuestFact]
    public async Task After_a_guest_reboot_our_disk_still_works()
    {
        string image = QemuPeerTests.CreateDisk(_directory);
        string blk = Path.Combine(_directory, "blk.sock");
        using LguestBackend backend = LguestBackend.Start(_directory, $$"""
            lguest {
              engine = vhost-user
              devices = [ { type = block, path = "{{image}}", socket = "{{blk}}" } ]
            }
            """, [blk]);

        GuestRun run = (await new QemuGuest(await TestInitramfs.GetAsync()) { AllowReboot = true, Log = output }
                .Check("blk-size", "blk-marker")
                .Param("blk.marker", "after-reboot")
                .Param("blk.marker-offset", 4 << 20)
                .Param("reboot", "once")
                .VhostUserBlk(blk)
                .RunAsync())
            .EnsureDone();

        Assert.Equal([1, 2], run.Boots);
        Assert.Equal($"{QemuPeerTests.DiskMiB << 20}", run.Check("blk-size", boot: 2));
        Assert.Equal("ok", run.Check("blk-marker", boot: 2));
        Assert.True(backend.Stop() == 0, backend.Stderr);
    }
}
