using System.Buffers;
using Lguest.Native.Memory;
using Microsoft.Win32.SafeHandles;

namespace Lguest.Native.Boot;

/// <summary>
/// A kernel or initrd opened for positioned reads. The original launcher mmapped these straight into the guest;
/// we copy through a small bounce buffer instead, so nothing here is ever sized by a number read out of the file.
/// </summary>
internal sealed class ImageFile : IDisposable
{
    private const int ChunkSize = 64 * 1024;

    private readonly SafeFileHandle _handle;

    private ImageFile(string path, SafeFileHandle handle)
    {
        Path = path;
        _handle = handle;
        Length = (ulong)RandomAccess.GetLength(handle);
    }

    public string Path { get; }

    public ulong Length { get; }

    /// <summary>Opens <paramref name="path"/> read-only; a missing or unreadable file surfaces as the usual IOException.</summary>
    public static ImageFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new ImageFile(path, File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read));
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; the caller has checked it lies inside the file.</summary>
    public void ReadExactly(ulong offset, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(_handle, buffer, checked((long)offset));
            if (read == 0)
            {
                // We measured the file before trusting any offset in it; coming up short means someone truncated it.
                throw new IOException($"{Path}: ended at byte {offset} while loading (was it changed underneath us?)");
            }
            buffer = buffer[read..];
            offset += (ulong)read;
        }
    }

    /// <summary>Copies [offset, offset + length) of the file to guest-physical <paramref name="guestAddress"/>.</summary>
    public void CopyTo(GuestMemory memory, ulong guestAddress, ulong offset, ulong length)
    {
        byte[] bounce = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (length > 0)
            {
                Span<byte> chunk = bounce.AsSpan(0, (int)Math.Min(length, ChunkSize));
                ReadExactly(offset, chunk);
                memory.Write(guestAddress, chunk);
                offset += (ulong)chunk.Length;
                guestAddress += (ulong)chunk.Length;
                length -= (ulong)chunk.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bounce);
        }
    }

    public void Dispose() => _handle.Dispose();
}
