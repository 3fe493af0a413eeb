using System.Globalization;
using System.Text;

namespace Lguest.Native.Boot.Initramfs;

/// <summary>
/// Writes the "newc" cpio format the kernel unpacks into its initramfs (Documentation/driver-api/early-userspace/
/// buffer-format.rst): per entry a 110-byte ASCII header of thirteen 8-digit hex fields, the NUL-terminated name
/// padded to 4 bytes, then the data padded to 4 bytes; a "TRAILER!!!" entry ends the archive. Every entry is owned
/// by root with mtime 0 and numbered in order, so the same inputs always give the same bytes: the launcher caches
/// the result and two builds of one initramfs must not differ.
/// </summary>
internal sealed class NewcArchiveWriter : IDisposable
{
    public const string Magic = "070701";
    public const string TrailerName = "TRAILER!!!";
    public const int HeaderSize = 110;

    // The file-type bits of st_mode, as the kernel's init/initramfs.c switches on them.
    public const uint TypeDirectory = 0x4000;
    public const uint TypeCharacterDevice = 0x2000;
    public const uint TypeRegular = 0x8000;
    public const uint TypeSymlink = 0xA000;

    private const uint PermissionBits = 0xFFF;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private uint _nextInode = 1;
    private long _position;
    private bool _finished;

    public NewcArchiveWriter(Stream output, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _leaveOpen = leaveOpen;
    }

    public void AddDirectory(string name, uint permissions = 0x1ED /* 0755 */)
        => WriteEntry(name, TypeDirectory | permissions, nlink: 2, ReadOnlySpan<byte>.Empty);

    public void AddFile(string name, ReadOnlySpan<byte> contents, uint permissions = 0x1A4 /* 0644 */)
        => WriteEntry(name, TypeRegular | permissions, nlink: 1, contents);

    /// <summary>A regular file copied from <paramref name="contents"/>, which must hold exactly <paramref name="length"/> bytes.</summary>
    public void AddFile(string name, Stream contents, long length, uint permissions = 0x1A4 /* 0644 */)
    {
        ArgumentNullException.ThrowIfNull(contents);
        WriteHeader(name, TypeRegular | permissions, nlink: 1, checked((uint)length), 0, 0, _nextInode++);
        long copied = 0;
        byte[] buffer = new byte[81920];
        int read;
        while (copied < length && (read = contents.Read(buffer, 0, (int)Math.Min(buffer.Length, length - copied))) > 0)
        {
            Write(buffer.AsSpan(0, read));
            copied += read;
        }
        if (copied != length)
        {
            throw new IOException($"cpio entry {name}: expected {length} bytes, the source ended after {copied}");
        }
        Pad();
    }

    /// <summary>A symbolic link: the kernel takes its target from the entry's data.</summary>
    public void AddSymlink(string name, string target)
        => WriteEntry(name, TypeSymlink | 0x1FF, nlink: 1, Encoding.UTF8.GetBytes(target));

    /// <summary>A device node, made by the kernel as it unpacks, so building one needs no privilege.</summary>
    public void AddCharacterDevice(string name, uint major, uint minor, uint permissions = 0x180 /* 0600 */)
        => WriteEntry(name, TypeCharacterDevice | permissions, nlink: 1, ReadOnlySpan<byte>.Empty, major, minor);

    /// <summary>Writes the trailer; nothing may be added afterwards.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }
        // GNU cpio gives the trailer inode 0 and no mode; its name is the only thing the kernel looks at.
        WriteHeader(TrailerName, 0, nlink: 1, 0, 0, 0, inode: 0);
        _finished = true;
        _output.Flush();
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }

    private void WriteEntry(string name, uint mode, uint nlink, ReadOnlySpan<byte> data, uint rdevMajor = 0, uint rdevMinor = 0)
    {
        WriteHeader(name, mode, nlink, checked((uint)data.Length), rdevMajor, rdevMinor, _nextInode++);
        Write(data);
        Pad();
    }

    /// <param name="inode">Distinct per entry: the kernel hard-links entries that share an inode number and have nlink above 1.</param>
    private void WriteHeader(string name, uint mode, uint nlink, uint fileSize, uint rdevMajor, uint rdevMinor, uint inode)
    {
        if (_finished)
        {
            throw new InvalidOperationException($"cpio entry {name} added after the trailer");
        }
        if (inode != 0)
        {
            ValidateName(name);
        }
        if ((mode & ~(PermissionBits | 0xF000)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(mode), $"cpio entry {name}: mode 0x{mode:x} has bits outside type and permissions");
        }
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        var header = new StringBuilder(HeaderSize);
        header.Append(Magic);
        foreach (uint field in (ReadOnlySpan<uint>)[
            inode, mode, 0 /* uid */, 0 /* gid */, nlink, 0 /* mtime */, fileSize,
            0 /* devmajor */, 0 /* devminor */, rdevMajor, rdevMinor, checked((uint)nameBytes.Length + 1), 0 /* check */])
        {
            header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
        }
        Write(Encoding.ASCII.GetBytes(header.ToString()));
        Write(nameBytes);
        Write([0]);
        Pad();
    }

    private void ValidateName(string name)
    {
        if (name.Length == 0 || name.StartsWith('/') || name.Contains('\0', StringComparison.Ordinal)
            || name.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw new ArgumentException($"cpio entry name '{name}' must be a relative path without empty, . or .. parts", nameof(name));
        }
        if (name == TrailerName)
        {
            throw new ArgumentException($"cpio entry name {TrailerName} would end the archive there", nameof(name));
        }
        if (!_names.Add(name))
        {
            throw new ArgumentException($"cpio entry {name} added twice", nameof(name));
        }
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _position += bytes.Length;
    }

    private void Pad()
    {
        int padding = (int)((4 - (_position & 3)) & 3);
        Span<byte> zeros = stackalloc byte[4];
        Write(zeros[..padding]);
    }
}
