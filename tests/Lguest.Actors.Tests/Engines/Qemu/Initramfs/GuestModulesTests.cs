using System.IO.Compression;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.Qemu.Initramfs;

namespace Lguest.Actors.Tests.Engines.Qemu.Initramfs;

/// <summary>Module files go into the initramfs as plain ELF whatever compression the distribution ships.</summary>
public sealed class GuestModulesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-ko-").FullName;
    private readonly byte[] _plain = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_plain_module_is_taken_as_it_is()
        => Assert.Equal(_plain, GuestModules.Contents(new GuestModule("m", Write("m.ko", _plain))));

    [Fact]
    public void A_gzipped_module_is_unpacked()
    {
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(_plain);
        }

        Assert.Equal(_plain, GuestModules.Contents(new GuestModule("m", Write("m.ko.gz", packed.ToArray()))));
    }

    [Fact]
    public void A_zstd_module_is_unpacked_with_the_zstd_tool()
    {
        string path = Write("m.ko", _plain);
        FakeModuleTree.Run("zstd", "-q", "--rm", path);

        Assert.Equal(_plain, GuestModules.Contents(new GuestModule("m", path + ".zst")));
    }

    [Fact]
    public void A_corrupt_xz_module_is_a_configuration_error_naming_the_file()
    {
        string path = Write("m.ko.xz", [1, 2, 3, 4]);

        var e = Assert.Throws<ConfigurationException>(() => GuestModules.Contents(new GuestModule("m", path)));

        Assert.Equal("lguest.initrd", e.Key);
        Assert.Contains($"cannot decompress {path}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_module_file_kind_is_refused()
    {
        string path = Write("m.ko.lz4", _plain);

        var e = Assert.Throws<ConfigurationException>(() => GuestModules.Contents(new GuestModule("m", path)));

        Assert.Contains("not .ko, .ko.gz, .ko.xz or .ko.zst", e.Message, StringComparison.Ordinal);
    }

    private string Write(string name, byte[] contents)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, contents);
        return path;
    }
}
