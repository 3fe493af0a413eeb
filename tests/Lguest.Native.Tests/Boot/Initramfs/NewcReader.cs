using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Lguest.Native.Tests.Boot.Initramfs;

/// <summary>One member of a newc archive, with every header field as read.</summary>
internal sealed record NewcEntry(
    string Name,
    uint Inode,
    uint Mode,
    uint Uid,
    uint Gid,
    uint Links,
    uint ModifiedTime,
    uint DevMajor,
    uint DevMinor,
    uint RdevMajor,
    uint RdevMinor,
    uint Check,
    byte[] Data,
    long HeaderOffset)
{
    public uint Type => Mode & 0xF000;

    public uint Permissions => Mode & 0xFFF;

    public string Text => Encoding.UTF8.GetString(Data);
}

/// <summary>
/// A newc ("070701") reader written from the format description (the kernel's buffer-format.rst and cpio(5)),
/// not from the writer, so the tests check the writer against the format rather than against itself. It is
/// strict: a wrong magic, a non-hex digit, misaligned padding that is not zero, or a missing trailer all fail.
/// </summary>
internal static class NewcReader
{
    public static IReadOnlyList<NewcEntry> ReadGzip(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return Read(plain.ToArray());
    }

    /// <summary>Every entry before the trailer; throws when the archive does not end in one.</summary>
    public static IReadOnlyList<NewcEntry> Read(byte[] archive)
    {
        var entries = new List<NewcEntry>();
        int at = 0;
        while (true)
        {
            if (at + 110 > archive.Length)
            {
                throw new InvalidDataException($"archive ends at {archive.Length} without a TRAILER!!! entry");
            }
            int start = at;
            string magic = Encoding.ASCII.GetString(archive, at, 6);
            if (magic != "070701")
            {
                throw new InvalidDataException($"bad magic '{magic}' at offset {at}");
            }
            uint[] fields = new uint[13];
            for (int i = 0; i < 13; i++)
            {
                string hex = Encoding.ASCII.GetString(archive, at + 6 + (i * 8), 8);
                if (!hex.All(char.IsAsciiHexDigit))
                {
                    throw new InvalidDataException($"field {i} of the header at {at} is not 8 hex digits: '{hex}'");
                }
                fields[i] = uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            at += 110;
            int nameSize = (int)fields[11];
            if (nameSize < 1 || archive[at + nameSize - 1] != 0)
            {
                throw new InvalidDataException($"name at {at} is not NUL-terminated within its namesize {nameSize}");
            }
            string name = Encoding.UTF8.GetString(archive, at, nameSize - 1);
            at = Align(archive, at + nameSize, start);
            int size = (int)fields[6];
            byte[] data = archive[at..(at + size)];
            at = Align(archive, at + size, start);
            if (name == "TRAILER!!!")
            {
                return entries;
            }
            entries.Add(new NewcEntry(
                name, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5],
                fields[7], fields[8], fields[9], fields[10], fields[12], data, start));
        }
    }

    /// <summary>Headers and data both start on a 4-byte boundary; the padding must be zeros.</summary>
    private static int Align(byte[] archive, int at, int entryStart)
    {
        while (at % 4 != 0)
        {
            if (archive[at] != 0)
            {
                throw new InvalidDataException($"padding byte at {at} (entry at {entryStart}) is 0x{archive[at]:x2}, not 0");
            }
            at++;
        }
        return at;
    }
}
