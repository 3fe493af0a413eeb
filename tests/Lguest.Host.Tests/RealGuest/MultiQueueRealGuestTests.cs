using Xunit.Abstractions;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>
/// A 2-vCPU guest on our multiqueue disk. QEMU's vhost-user-blk asks for one queue per vCPU by default and refuses a
/// back end that offers fewer, so this boots only if we offer two; the back end's log then shows both rings served.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class MultiQueueRealGuestTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-mq-guest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [RealGuestFact]
    public async Task A_two_vcpu_guest_passes_the_block_checks_on_two_queues_of_our_disk()
    {
        string image = QemuPeerTests.CreateDisk(_directory);
        string expectedSum = QemuPeerTests.Sha256(image, 0, QemuPeerTests.SumMiB << 20);
        string blk = Path.Combine(_directory, "blk.sock");
        GuestRun run;
        string log;
        using (LguestBackend backend = LguestBackend.Start(_directory, $$"""
            lguest {
              engine = vhost-user
              verbose = on
              devices = [ { type = block, path = "{{image}}", socket = "{{blk}}", num-queues = 2 } ]
            }
            """, [blk]))
        {
            run = await (await QemuPeerTests.BlockGuestAsync(output)).VhostUserBlk(blk).Args("-smp", "2").RunAsync();
            output.WriteLine(backend.Stderr);
            run.EnsureDone();
            Assert.True(backend.Stop() == 0, backend.Stderr);
            log = backend.Stderr;
        }

        QemuPeerTests.AssertBlockChecks(run, image, expectedSum);
        Assert.Contains("block: serving ring 0 (requests0)", log, StringComparison.Ordinal);
        Assert.Contains("block: serving ring 1 (requests1)", log, StringComparison.Ordinal);
    }
}
