using System.Diagnostics;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Tests.Devices.Block;

/// <summary>A block device whose file is missing and whose config gives a size creates the file, sparse.</summary>
public sealed class DiskCreationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-disk-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_missing_disk_is_created_sparse_at_the_exact_size_and_private()
    {
        string path = Path.Combine(_directory, "disk.img");

        using (var device = new BlockDevice(new BlockSettings(path, ReadOnly: false) { Size = 64L << 20 }, NoLogger.Instance))
        {
            Assert.Equal((ulong)(64 << 20) / 512, device.Disk.Capacity);
        }

        (long size, long blocks, string mode) = Stat(path);
        Assert.Equal(64L << 20, size);
        Assert.True(blocks <= 8, $"{blocks} 512-byte blocks allocated: not sparse");
        Assert.Equal("600", mode);
    }

    [Fact]
    public void An_existing_disk_keeps_its_size_and_contents_whatever_size_says()
    {
        string path = Path.Combine(_directory, "disk.img");
        byte[] contents = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(path, contents);

        using (var device = new BlockDevice(new BlockSettings(path, ReadOnly: false) { Size = 64L << 20 }, NoLogger.Instance))
        {
            Assert.Equal(8UL, device.Disk.Capacity);
        }

        Assert.Equal(contents, File.ReadAllBytes(path));
    }

    [Fact]
    public void Without_a_size_a_missing_disk_stays_a_host_error_naming_it()
    {
        string path = Path.Combine(_directory, "absent.img");

        var e = Assert.Throws<HostDeviceException>(() => new BlockDevice(new BlockSettings(path, ReadOnly: false), NoLogger.Instance));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    private static (long Size, long Blocks, string Mode) Stat(string path)
    {
        var start = new ProcessStartInfo("stat", ["-c", "%s %b %a", path]) { RedirectStandardOutput = true };
        using Process stat = Process.Start(start)!;
        string[] fields = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries);
        stat.WaitForExit();
        return (long.Parse(fields[0]), long.Parse(fields[1]), fields[2]);
    }
}
