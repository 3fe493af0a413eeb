using System.Security.Cryptography;
using System.Text;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>
/// The real-guest baseline: the test kernel and initramfs against QEMU's own devices (virtio-blk on a file,
/// qemu-storage-daemon's vhost-user-blk, virtio-rng, virtio-net on a tap). These prove the harness and the
/// guest's checks before Lguest's vhost-user back ends exist, and the vhost-user tests mirror them.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class QemuPeerTests(ITestOutputHelper output) : IDisposable
{
    internal const int DiskMiB = 48;
    internal const int SumMiB = 4;
    private const long MarkerOffset = 4 << 20;
    private const int DirectOffsetMiB = 8;
    private const int DirectMiB = 32;
    private const string Marker = "lguest-marker-qemu-peer";

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-realguest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [RealGuestFact]
    public async Task Qemu_virtio_blk_and_virtio_rng_pass_every_block_check_and_the_rng_check()
    {
        string image = CreateDisk();
        string expectedSum = Sha256(image, 0, SumMiB << 20);

        GuestRun run = (await (await BlockGuestAsync()).VirtioDrive(image)
                .Check("rng")
                .Args("-object", "rng-random,filename=/dev/urandom,id=rng0", "-device", "virtio-rng-pci,rng=rng0")
                .RunAsync())
            .EnsureDone();

        AssertBlockChecks(run, image, expectedSum);
        Assert.Equal("virtio_rng.0 64", run.Check("rng"));
    }

    [RealGuestFact(RealGuestNeeds.StorageDaemon)]
    public async Task Qemu_storage_daemon_over_vhost_user_blk_passes_every_block_check()
    {
        string image = CreateDisk();
        string expectedSum = Sha256(image, 0, SumMiB << 20);
        GuestRun run;
        using (StorageDaemon daemon = StorageDaemon.ExportVhostUserBlk(image, Path.Combine(_directory, "blk.sock")))
        {
            run = (await (await BlockGuestAsync()).VhostUserBlk(daemon.Socket).RunAsync()).EnsureDone();
        }

        AssertBlockChecks(run, image, expectedSum);
    }

    [RealGuestFact(RealGuestNeeds.NetNamespace)]
    public async Task Qemu_virtio_net_on_a_tap_in_a_namespace_pings_the_host_end()
    {
        using var network = new TapNamespace("10.78.0.1/24");

        GuestRun run = (await new QemuGuest(await TestInitramfs.GetAsync()) { NetworkNamespace = network.Name, Log = output }
                .Check("net-ping")
                .Param("ip", "10.78.0.2/24")
                .Param("ping", "10.78.0.1")
                .Args(network.QemuArgs())
                .RunAsync())
            .EnsureDone();

        Assert.Equal("ok 3/3", run.Check("net-ping"));
    }

    [RealGuestFact]
    public async Task A_guest_asked_to_reboot_once_boots_twice_and_clears_its_flag_sector()
    {
        string image = CreateDisk();

        GuestRun run = (await new QemuGuest(await TestInitramfs.GetAsync()) { AllowReboot = true, Log = output }
                .Check("blk-size")
                .Param("reboot", "once")
                .VirtioDrive(image)
                .RunAsync())
            .EnsureDone();

        Assert.Equal([1, 2], run.Boots);
        Assert.Equal($"{DiskMiB << 20}", run.Check("blk-size", boot: 1));
        Assert.Equal($"{DiskMiB << 20}", run.Check("blk-size", boot: 2));
        Assert.Contains(run.Console, line => line.Contains("LGUEST-REBOOT", StringComparison.Ordinal) && !line.Contains("LGUEST-REBOOTED", StringComparison.Ordinal));
        Assert.Equal(new byte[512], Read(image, (DiskMiB << 20) - 512, 512));
    }

    [RealGuestFact]
    public async Task A_guest_that_outlives_its_timeout_is_killed()
    {
        var timeout = TimeSpan.FromSeconds(1);

        GuestRun run = await new QemuGuest(await TestInitramfs.GetAsync()) { Timeout = timeout, Log = output }.RunAsync();

        Assert.True(run.TimedOut, run.Describe());
        Assert.False(run.Done);
        Assert.InRange(run.Elapsed, timeout, timeout + TimeSpan.FromSeconds(10));
    }

    private Task<QemuGuest> BlockGuestAsync() => BlockGuestAsync(output);

    /// <summary>The guest with every block check, shared with the vhost-user tests so both run the same checks.</summary>
    internal static async Task<QemuGuest> BlockGuestAsync(ITestOutputHelper output) =>
        new QemuGuest(await TestInitramfs.GetAsync()) { Log = output }
            .Check("blk-size", "blk-sum", "blk-marker", "blk-direct")
            .Param("blk.mib", SumMiB)
            .Param("blk.marker", Marker)
            .Param("blk.marker-offset", MarkerOffset)
            .Param("blk.direct-offset-mib", DirectOffsetMiB)
            .Param("blk.direct-mib", DirectMiB);

    internal static void AssertBlockChecks(GuestRun run, string image, string expectedSum)
    {
        Assert.Equal($"{DiskMiB << 20}", run.Check("blk-size"));
        Assert.Equal(expectedSum, run.Check("blk-sum"));
        Assert.Equal("ok", run.Check("blk-marker"));
        string pattern = Convert.ToHexStringLower(SHA256.HashData(DirectPattern(DirectMiB << 20)));
        Assert.Equal($"ok {pattern}", run.Check("blk-direct"));

        // What the guest wrote is in the host file, where it said.
        byte[] sector = new byte[512];
        Encoding.ASCII.GetBytes(Marker).CopyTo(sector, 0);
        Assert.Equal(sector, Read(image, MarkerOffset, 512));
        Assert.Equal(pattern, Sha256(image, (long)DirectOffsetMiB << 20, DirectMiB << 20));
        Assert.Equal(expectedSum, Sha256(image, 0, SumMiB << 20));
    }

    private string CreateDisk() => CreateDisk(_directory);

    /// <summary>A sparse image whose first <see cref="SumMiB"/> MiB are fixed pseudo-random bytes.</summary>
    internal static string CreateDisk(string directory)
    {
        string image = Path.Combine(directory, "disk.img");
        byte[] head = new byte[SumMiB << 20];
        new Random(0x1a6e57).NextBytes(head);
        using FileStream file = File.Create(image);
        file.Write(head);
        file.SetLength((long)DiskMiB << 20);
        return image;
    }

    /// <summary>What the guest's blk-direct writes: `yes lguest-direct-pattern-0123456789`, cut to length.</summary>
    public static byte[] DirectPattern(int length)
    {
        byte[] line = Encoding.ASCII.GetBytes("lguest-direct-pattern-0123456789\n");
        byte[] pattern = new byte[length];
        for (int i = 0; i < length; i += line.Length)
        {
            line.AsSpan(0, Math.Min(line.Length, length - i)).CopyTo(pattern.AsSpan(i));
        }
        return pattern;
    }

    private static byte[] Read(string image, long offset, int length)
    {
        using FileStream file = File.OpenRead(image);
        file.Position = offset;
        byte[] bytes = new byte[length];
        file.ReadExactly(bytes);
        return bytes;
    }

    internal static string Sha256(string image, long offset, int length) =>
        Convert.ToHexStringLower(SHA256.HashData(Read(image, offset, length)));
}
