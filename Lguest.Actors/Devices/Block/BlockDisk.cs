using Akka.Event;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Block;

/// <summary>
/// The file behind a block device: its size in whole sectors, whether we may write it, how it is flushed, and
/// whether a flush has ever failed. After a failed fdatasync the kernel may have dropped the dirty pages and a retry
/// can report success over lost data, so the disk stays failed: every later request is an I/O error.
/// </summary>
internal sealed class BlockDisk : IDisposable
{
    private readonly Action<FileDescriptor> _flush;
    private volatile ILoggingAdapter _log;
    private int _failed;

    /// <param name="createSize">When set and the file is missing (and the disk writable), the file is created sparse
    /// at this size; an existing file keeps its own.</param>
    public BlockDisk(string path, bool readOnly, ILoggingAdapter log, Action<FileDescriptor>? flush = null, long? createSize = null)
    {
        Path = path;
        ReadOnly = readOnly;
        _log = log;
        _flush = flush ?? FileIo.Fdatasync;
        bool created = false;
        try
        {
            (File, created) = createSize is { } size && !readOnly
                ? OpenOrCreate(path, size)
                : (FileDescriptor.Open(path, readOnly ? LibC.O_RDONLY : LibC.O_RDWR), false);
        }
        catch (SystemCallException e)
        {
            throw new HostDeviceException($"block: cannot open {path}{(readOnly ? " read-only" : string.Empty)}: {Errno.Describe(e.Errno)}", e);
        }
        try
        {
            Size = FileIo.GetSize(File);
        }
        catch (SystemCallException e)
        {
            File.Dispose();
            throw new HostDeviceException($"block: cannot find the size of {path}: {Errno.Describe(e.Errno)}", e);
        }
        if (created)
        {
            log.Info("block {Path}: created, {Size} bytes (sparse)", path, Size);
        }
        else if (createSize is { } configured && configured != Size)
        {
            log.Info("block {Path}: exists with {Size} bytes; size {ConfiguredSize} applies only when creating it", path, Size, configured);
        }
        Capacity = (ulong)Size / BlockProtocol.SectorSize;
        Id = MakeId(path);
    }

    public string Path { get; }

    /// <summary>Where the disk's request handler reports failed reads and writes.</summary>
    public ILoggingAdapter Log
    {
        get => _log;
        set => _log = value;
    }

    public bool ReadOnly { get; }

    public FileDescriptor File { get; }

    /// <summary>The file's length in bytes.</summary>
    public long Size { get; }

    /// <summary>Whole sectors: a trailing partial sector is never served.</summary>
    public ulong Capacity { get; }

    public int TrailingBytes => (int)(Size % BlockProtocol.SectorSize);

    /// <summary>The GET_ID answer: "lguest-" and a hash of the path, NUL-padded to 20 bytes.</summary>
    public byte[] Id { get; }

    public bool Failed => Volatile.Read(ref _failed) != 0;

    /// <summary>True when the data is on stable storage; false latches the disk failed.</summary>
    public bool TryFlush()
    {
        try
        {
            _flush(File);
            return true;
        }
        catch (SystemCallException e)
        {
            if (Interlocked.Exchange(ref _failed, 1) == 0)
            {
                _log.Error("block {Path}: flush failed ({Reason}); the disk now fails every request", Path, Errno.Describe(e.Errno));
            }
            return false;
        }
    }

    public void Dispose() => File.Dispose();

    /// <summary>
    /// O_EXCL makes "missing" and "created by us" one step, so a file that appears meanwhile is opened, never
    /// truncated. The new file is 0600: a disk image holds whatever the guest writes.
    /// </summary>
    private static (FileDescriptor File, bool Created) OpenOrCreate(string path, long size)
    {
        FileDescriptor file;
        try
        {
            file = FileDescriptor.Open(path, LibC.O_RDWR | LibC.O_CREAT | Tmds.Linux.LibC.O_EXCL, mode: 0x180 /* 0600 */);
        }
        catch (SystemCallException e) when (e.Errno == Errno.EEXIST)
        {
            return (FileDescriptor.Open(path, LibC.O_RDWR), false);
        }
        try
        {
            FileIo.Ftruncate(file, size);
        }
        catch (SystemCallException e)
        {
            file.Dispose();
            System.IO.File.Delete(path);
            throw new HostDeviceException($"block: cannot size the new {path} to {size} bytes: {Errno.Describe(e.Errno)}", e);
        }
        return (file, true);
    }

    private static byte[] MakeId(string path)
    {
        // FNV-1a over the full path: stable across runs, different for different images.
        uint hash = 2166136261;
        foreach (char c in System.IO.Path.GetFullPath(path))
        {
            hash = (hash ^ c) * 16777619;
        }
        var id = new byte[BlockProtocol.IdSize];
        System.Text.Encoding.ASCII.GetBytes($"lguest-{hash:x8}", id);
        return id;
    }
}
