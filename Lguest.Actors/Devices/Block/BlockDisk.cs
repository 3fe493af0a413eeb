using Akka.Event;
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
    private readonly ILoggingAdapter _log;
    private int _failed;

    public BlockDisk(string path, bool readOnly, ILoggingAdapter log, Action<FileDescriptor>? flush = null)
    {
        Path = path;
        ReadOnly = readOnly;
        _log = log;
        _flush = flush ?? FileIo.Fdatasync;
        try
        {
            File = FileDescriptor.Open(path, readOnly ? LibC.O_RDONLY : LibC.O_RDWR);
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
        Capacity = (ulong)Size / BlockProtocol.SectorSize;
        Id = MakeId(path);
    }

    public string Path { get; }

    /// <summary>Where the disk's request handler reports failed reads and writes.</summary>
    public ILoggingAdapter Log => _log;

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
                _log.Error("block {0}: flush failed ({1}); the disk now fails every request", Path, Errno.Describe(e.Errno));
            }
            return false;
        }
    }

    public void Dispose() => File.Dispose();

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
