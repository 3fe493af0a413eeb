using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices;

/// <summary>
/// The checks every queue makes on a chain before trusting its shape. A chain the wrong way round cannot be
/// answered on the ring (there is nowhere to put a status), so these throw <see cref="GuestRequestException"/>
/// and supervision decides, where the seed simply died.
/// </summary>
internal static class ChainRules
{
    /// <summary>Host iovecs per chain: readv/writev take at most IOV_MAX, and no honest driver gets near it.</summary>
    public const int MaxIoVectors = 1024;

    /// <summary>Why: a queue the device only writes to has no use for a request, and a readable buffer there is a driver bug.</summary>
    public static void RequireNoReadable(in ChainReader readable, string device, string queue)
    {
        if (readable.BufferCount != 0)
        {
            throw new GuestRequestException($"{device}: readable buffers in the {queue} queue (chain {readable.HeadIndex})");
        }
    }

    /// <summary>Why: a queue the device only reads from has nowhere to answer, and a writable buffer there is a driver bug.</summary>
    public static void RequireNoWritable(in ChainWriter writable, string device, string queue)
    {
        if (writable.BufferCount != 0)
        {
            throw new GuestRequestException($"{device}: writable buffers in the {queue} queue (chain {writable.HeadIndex})");
        }
    }

    /// <summary>A translation result of -1: the chain has more pieces than one system call takes.</summary>
    public static int RequireTranslated(int count, ushort head, string device)
    {
        if (count < 0)
        {
            throw new GuestRequestException($"{device}: chain {head} needs more than {MaxIoVectors} host buffers");
        }
        return count;
    }

    public static IoVector[] NewIoVectors() => new IoVector[MaxIoVectors];
}
