using System.Text;
using System.Text.RegularExpressions;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.Actors.Launcher;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.DeviceSimulation;

/// <summary>The block device through the simulated guest's virtio_blk driver, over a real file, on the whole actor stack.</summary>
public sealed class BlockSimulation(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private const int Sectors = 64;
    private const int DiskBytes = Sectors * BlockDriver.SectorSize;
    private readonly List<string> _disks = [];

    [Fact]
    public async Task Writes_reach_the_file_and_read_back_with_whole_or_split_headers()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Disk(out string path));
        byte[] record = SimulatedWorkload.FlushRecord(3);
        byte[] second = SimulatedWorkload.FlushRecord(4);

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            Assert.Equal((ulong)Sectors, disk.Capacity);
            Assert.Equal(BlockDriver.StatusOk, disk.Write(3, record));
            Assert.Equal(BlockDriver.StatusOk, disk.Flush());
            BlockResult read = disk.Read(3, 1);
            Assert.Equal(BlockDriver.StatusOk, read.Status);
            Assert.Equal(record, read.Data);
            Assert.Equal((uint)BlockDriver.SectorSize + 1, read.UsedLength); // data and the status byte

            // Linux may put the header's two halves in descriptors of their own: the same request.
            disk.SplitHeader = true;
            Assert.Equal(BlockDriver.StatusOk, disk.Write(4, second));
            Assert.Equal(second, disk.Read(4, 1).Data);
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        byte[] file = await File.ReadAllBytesAsync(path);
        Assert.Equal(DiskBytes, file.Length);
        Assert.Equal(record, file[(3 * 512)..(4 * 512)]);
        Assert.Equal(second, file[(4 * 512)..(5 * 512)]);
    }

    [Fact]
    public async Task Get_id_answers_the_id_and_every_other_unknown_type_is_unsupported()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Disk(out string path));
        var answers = new Dictionary<uint, byte>();
        string? id = null;

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            (byte status, id) = disk.GetId();
            Assert.Equal(BlockDriver.StatusOk, status);
            // FLUSH_OUT (5), DISCARD (11), WRITE_ZEROES (13) are not offered; 0xdead is no type at all.
            foreach (uint type in new uint[] { 5, 11, 13, 0xdead })
            {
                answers[type] = disk.Request(type, 0, BlockDriver.SectorSize, writable: false, SimulatedWorkload.FlushRecord(type)).Status;
            }
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Matches(new Regex("^lguest-[0-9a-f]{8}$"), id);
        Assert.All(answers, answer => Assert.Equal(BlockDriver.StatusUnsupported, answer.Value));
        Assert.Equal(new byte[DiskBytes], await File.ReadAllBytesAsync(path)); // type 5 was not taken for a write
    }

    [Fact]
    public async Task Ranges_past_the_end_are_io_errors_and_leave_the_file_as_it_was()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Disk(out string path));
        byte[] last = SimulatedWorkload.FlushRecord(Sectors - 1);

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            Assert.Equal(BlockDriver.StatusOk, disk.Write(Sectors - 1, last)); // exactly the last sector
            Assert.Equal(BlockDriver.StatusIoError, disk.Write(Sectors, SimulatedWorkload.FlushRecord(1))); // one past
            Assert.Equal(BlockDriver.StatusIoError, disk.Write(Sectors - 1, new byte[2 * BlockDriver.SectorSize])); // straddles the end
            Assert.Equal(BlockDriver.StatusIoError, disk.Read(Sectors, 1).Status);
            // sector * 512 would wrap a u64 to a small offset: still past the end.
            Assert.Equal(BlockDriver.StatusIoError, disk.Read((ulong.MaxValue / BlockDriver.SectorSize) + 2, 1).Status);
            Assert.Equal(BlockDriver.StatusIoError, disk.Write(ulong.MaxValue, SimulatedWorkload.FlushRecord(2)));
            Assert.Equal(last, disk.Read(Sectors - 1, 1).Data);
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        byte[] file = await File.ReadAllBytesAsync(path);
        Assert.Equal(DiskBytes, file.Length);
        Assert.Equal(last, file[^BlockDriver.SectorSize..]);
        Assert.All(file[..^BlockDriver.SectorSize], b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task A_read_only_disk_says_so_and_refuses_writes()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Disk(out string path, readOnly: true, fill: 0x5a));

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            Assert.True(disk.ReadOnly);
            Assert.Equal(BlockDriver.StatusIoError, disk.Write(0, SimulatedWorkload.FlushRecord(0)));
            BlockResult read = disk.Read(0, 1);
            Assert.Equal(BlockDriver.StatusOk, read.Status);
            Assert.All(read.Data, b => Assert.Equal(0x5a, b));
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.All(await File.ReadAllBytesAsync(path), b => Assert.Equal(0x5a, b));
    }

    [Fact]
    public async Task A_failed_fdatasync_fails_the_flush_and_every_request_after_it()
    {
        int flushes = 0;
        using var rig = new SimulatedGuestRig(
            GuestErrorPolicy.KillLauncher,
            _ =>
            {
                Interlocked.Increment(ref flushes);
                throw new SystemCallException("fdatasync", Errno.EIO);
            },
            Disk(out _));
        var statuses = new List<byte>();

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            statuses.Add(disk.Write(0, SimulatedWorkload.FlushRecord(0)));
            statuses.Add(disk.Flush());
            statuses.Add(disk.Read(0, 1).Status);
            statuses.Add(disk.Write(1, SimulatedWorkload.FlushRecord(1)));
            statuses.Add(disk.Flush());
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal([BlockDriver.StatusOk, BlockDriver.StatusIoError, BlockDriver.StatusIoError, BlockDriver.StatusIoError, BlockDriver.StatusIoError], statuses);
        Assert.Equal(1, flushes); // once failed, the disk does not retry a flush that could lie
    }

    [Theory]
    [InlineData(BlockStatusDescriptor.Missing)]
    [InlineData(BlockStatusDescriptor.ReadOnly)]
    public async Task A_request_with_no_writable_status_kills_the_launcher_naming_the_device(BlockStatusDescriptor status)
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null, Disk(out _));

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            GuestFaults.PostBlockRequestWithBadStatus(disk, status);
            guest.IdleUntilStopped();
        });

        Assert.Equal(LauncherExit.Failed, exit.ExitCode);
        Assert.StartsWith("block:", exit.Message, StringComparison.Ordinal);
        Assert.Contains("no status byte", exit.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BlockStatusDescriptor.Missing)]
    [InlineData(BlockStatusDescriptor.ReadOnly)]
    public async Task With_restart_device_the_disk_needs_a_reset_and_then_works_again(BlockStatusDescriptor status)
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.RestartDevice, null, Disk(out string path));
        byte[] record = SimulatedWorkload.FlushRecord(7);

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            BlockDriver disk = guest.Block();
            GuestFaults.PostBlockRequestWithBadStatus(disk, status);
            guest.WaitForNeedsReset(disk.Device);

            guest.Reset(disk.Device);
            Assert.Equal(0, disk.Device.Status);
            BlockDriver again = guest.Block();
            Assert.Equal(BlockDriver.StatusOk, again.Write(7, record));
            Assert.Equal(record, again.Read(7, 1).Data);
        });

        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.Equal(record, (await File.ReadAllBytesAsync(path))[(7 * 512)..(8 * 512)]);
    }

    private BlockSettings Disk(out string path, bool readOnly = false, byte fill = 0)
    {
        path = Path.Combine(Path.GetTempPath(), $"lguest-devsim-{Guid.NewGuid():N}.img");
        byte[] content = new byte[DiskBytes];
        Array.Fill(content, fill);
        File.WriteAllBytes(path, content);
        _disks.Add(path);
        return new BlockSettings(path, readOnly);
    }

    protected override void Dispose(bool disposing)
    {
        foreach (string disk in _disks)
        {
            File.Delete(disk);
        }
        base.Dispose(disposing);
    }
}
