using System.Text;
using Lguest.Native.Boot.Initramfs;

namespace Lguest.Native.Tests.Boot.Initramfs;

public sealed class NewcArchiveWriterTests
{
    private static byte[] Build(Action<NewcArchiveWriter> fill)
    {
        using var output = new MemoryStream();
        using (var writer = new NewcArchiveWriter(output, leaveOpen: true))
        {
            fill(writer);
            writer.Finish();
        }
        return output.ToArray();
    }

    [Fact]
    public void Every_kind_of_entry_reads_back_with_its_type_permissions_and_contents()
    {
        byte[] archive = Build(w =>
        {
            w.AddDirectory("bin");
            w.AddFile("bin/hello", "hello, world\n"u8, 0x1ED);
            w.AddSymlink("bin/sh", "busybox");
            w.AddCharacterDevice("console", 5, 1);
            using var stream = new MemoryStream(Encoding.ASCII.GetBytes("streamed"));
            w.AddFile("data", stream, stream.Length);
        });

        IReadOnlyList<NewcEntry> entries = NewcReader.Read(archive);

        Assert.Equal(["bin", "bin/hello", "bin/sh", "console", "data"], entries.Select(e => e.Name));
        Assert.Equal((0x4000u, 0x1EDu), (entries[0].Type, entries[0].Permissions));
        Assert.Equal((0x8000u, 0x1EDu, "hello, world\n"), (entries[1].Type, entries[1].Permissions, entries[1].Text));
        Assert.Equal((0xA000u, "busybox"), (entries[2].Type, entries[2].Text));
        Assert.Equal((0x2000u, 5u, 1u, 0), (entries[3].Type, entries[3].RdevMajor, entries[3].RdevMinor, entries[3].Data.Length));
        Assert.Equal((0x8000u, 0x1A4u, "streamed"), (entries[4].Type, entries[4].Permissions, entries[4].Text));
    }

    [Fact]
    public void Entries_are_root_owned_timeless_distinct_inodes_with_a_zero_check_field()
    {
        byte[] archive = Build(w =>
        {
            w.AddDirectory("a");
            w.AddFile("a/b", [1, 2, 3]);
            w.AddFile("a/c", [4]);
        });

        IReadOnlyList<NewcEntry> entries = NewcReader.Read(archive);

        Assert.All(entries, e => Assert.Equal((0u, 0u, 0u, 0u), (e.Uid, e.Gid, e.ModifiedTime, e.Check)));
        Assert.Equal(entries.Count, entries.Select(e => e.Inode).Distinct().Count());
        Assert.DoesNotContain(0u, entries.Select(e => e.Inode));
        Assert.Equal(2u, entries[0].Links);
        Assert.Equal(1u, entries[1].Links);
    }

    [Theory]
    [InlineData("x", 0)]
    [InlineData("xy", 1)]
    [InlineData("xyz", 2)]
    [InlineData("xyzw", 3)]
    [InlineData("abcdefgh", 5)]
    public void Names_and_data_of_every_length_stay_on_four_byte_boundaries(string name, int dataLength)
    {
        byte[] data = Enumerable.Range(1, dataLength).Select(i => (byte)i).ToArray();
        byte[] archive = Build(w =>
        {
            w.AddFile(name, data);
            w.AddFile("next", [9]);
        });

        IReadOnlyList<NewcEntry> entries = NewcReader.Read(archive);

        Assert.Equal(data, entries[0].Data);
        Assert.Equal(0, entries[1].HeaderOffset % 4);
        Assert.Equal([9], entries[1].Data);
        Assert.Equal(0, archive.Length % 4);
    }

    [Fact]
    public void The_header_is_the_magic_then_thirteen_eight_digit_hex_fields()
    {
        byte[] archive = Build(w => w.AddFile("f", "ab"u8));

        string header = Encoding.ASCII.GetString(archive, 0, 110);

        Assert.StartsWith("070701", header, StringComparison.Ordinal);
        // inode 1, mode 0100644, uid, gid, nlink 1, mtime, filesize 2, dev 0:0, rdev 0:0, namesize 2 ("f\0"), check.
        Assert.Equal("00000001" + "000081A4" + "00000000" + "00000000" + "00000001" + "00000000" + "00000002"
            + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000", header[6..]);
    }

    [Fact]
    public void The_archive_ends_with_the_trailer()
    {
        byte[] archive = Build(w => w.AddFile("f", [1]));

        string tail = Encoding.ASCII.GetString(archive);
        Assert.Contains("TRAILER!!!\0", tail, StringComparison.Ordinal);
        Assert.Single(NewcReader.Read(archive));
    }

    [Fact]
    public void Without_Finish_there_is_no_trailer_and_the_archive_is_incomplete()
    {
        using var output = new MemoryStream();
        using (var writer = new NewcArchiveWriter(output, leaveOpen: true))
        {
            writer.AddFile("f", [1]);
        }

        Assert.Throws<InvalidDataException>(() => NewcReader.Read(output.ToArray()));
    }

    [Fact]
    public void The_same_entries_give_the_same_bytes()
    {
        static void Fill(NewcArchiveWriter w)
        {
            w.AddDirectory("d");
            w.AddFile("d/f", [1, 2, 3, 4, 5]);
            w.AddSymlink("d/l", "f");
        }

        Assert.Equal(Build(Fill), Build(Fill));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/abs")]
    [InlineData("a/../b")]
    [InlineData("a//b")]
    [InlineData("./a")]
    public void Names_that_could_escape_or_confuse_the_unpacker_are_refused(string name)
    {
        using var output = new MemoryStream();
        using var writer = new NewcArchiveWriter(output, leaveOpen: true);

        var e = Assert.Throws<ArgumentException>(() => writer.AddFile(name, [1]));
        Assert.Contains("relative path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_named_like_the_trailer_is_refused()
    {
        using var output = new MemoryStream();
        using var writer = new NewcArchiveWriter(output, leaveOpen: true);

        var e = Assert.Throws<ArgumentException>(() => writer.AddFile("TRAILER!!!", [1]));
        Assert.Contains("would end the archive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_added_twice_is_refused()
    {
        using var output = new MemoryStream();
        using var writer = new NewcArchiveWriter(output, leaveOpen: true);
        writer.AddFile("f", [1]);

        var e = Assert.Throws<ArgumentException>(() => writer.AddSymlink("f", "g"));
        Assert.Contains("added twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_shorter_than_its_stated_length_is_an_error()
    {
        using var output = new MemoryStream();
        using var writer = new NewcArchiveWriter(output, leaveOpen: true);
        using var shortStream = new MemoryStream([1, 2]);

        var e = Assert.Throws<IOException>(() => writer.AddFile("f", shortStream, 5));
        Assert.Contains("expected 5 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_can_be_added_after_the_trailer()
    {
        using var output = new MemoryStream();
        using var writer = new NewcArchiveWriter(output, leaveOpen: true);
        writer.Finish();

        Assert.Throws<InvalidOperationException>(() => writer.AddFile("late", [1]));
    }

    [Fact]
    public void GNU_cpio_extracts_what_was_written()
    {
        byte[] archive = Build(w =>
        {
            w.AddDirectory("dir");
            w.AddFile("dir/file", "contents"u8);
            w.AddSymlink("dir/link", "file");
        });
        using var dir = new TempDirectory();
        dir.Write("a.cpio", archive);

        var start = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", $"cd '{dir.Path}' && cpio -idm --quiet < a.cpio"])
        {
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();

        Assert.True(process.ExitCode == 0, errors);
        Assert.Equal("contents", File.ReadAllText(Path.Combine(dir.Path, "dir/file")));
        Assert.Equal("file", new FileInfo(Path.Combine(dir.Path, "dir/link")).LinkTarget);
    }
}
