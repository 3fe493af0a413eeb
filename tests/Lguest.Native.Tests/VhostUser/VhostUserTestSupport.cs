using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>Records what a session asks of the ring server, and answers StopRing with a chosen index.</summary>
internal sealed class RecordingRingControl : IVhostUserRingControl
{
    public List<VhostUserRingStart> Started { get; } = [];

    public List<int> Stopped { get; } = [];

    public int MemoryChanges { get; private set; }

    /// <summary>What StopRing reports as the next available index.</summary>
    public ushort StopIndex { get; set; } = 7;

    public void StartRing(VhostUserRingStart ring) => Started.Add(ring);

    public ushort StopRing(int index)
    {
        Stopped.Add(index);
        return StopIndex;
    }

    public void MemoryChanging() => MemoryChanges++;
}

internal static class VhostUserTestSupport
{
    public static readonly int Page = MemoryMapping.PageSize;

    /// <summary>A memfd whose /proc/self/fd link names <paramref name="marker"/>, so tests can count its copies.</summary>
    public static FileDescriptor MarkedMemFd(string marker, ulong size = 4096) => MemFd.Create(marker, size);

    public static string NewMarker() => "vhu-" + Guid.NewGuid().ToString("N");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> s_eventFdMarkers = new();

    /// <summary>
    /// An eventfd (what a kick or call fd must be) counted under <paramref name="marker"/>: eventfds have no name, so
    /// the kernel's eventfd-id from /proc/self/fdinfo stands in for one.
    /// </summary>
    public static FileDescriptor MarkedEventFd(string marker)
    {
        EventFd eventFd = EventFd.Create();
        s_eventFdMarkers[EventFdId(eventFd.Descriptor.Number)!] = marker;
        return eventFd.Descriptor;
    }

    private static string? EventFdId(int fd)
    {
        try
        {
            return File.ReadLines($"/proc/self/fdinfo/{fd}").FirstOrDefault(l => l.StartsWith("eventfd-id:", StringComparison.Ordinal))?["eventfd-id:".Length..].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// How many descriptors in this process point at a memfd named <paramref name="marker"/>. Unique names make this
    /// safe while other tests open and close descriptors in parallel.
    /// </summary>
    public static int OpenCopies(string marker)
    {
        int count = 0;
        foreach (string path in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                string? target = new FileInfo(path).LinkTarget;
                if (target?.Contains(marker, StringComparison.Ordinal) == true)
                {
                    count++;
                }
                else if (target == "anon_inode:[eventfd]"
                    && EventFdId(int.Parse(Path.GetFileName(path), System.Globalization.CultureInfo.InvariantCulture)) is { } id
                    && s_eventFdMarkers.TryGetValue(id, out string? owner) && owner == marker)
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // closed between listing and reading: not open
            }
        }
        return count;
    }

    /// <summary>Sends raw bytes (with descriptors) from a front end and reads them as a request on the back end.</summary>
    public static VhostUserMessage? Exchange(byte[] bytes, params FileDescriptor[] fds)
    {
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using (front)
        using (var channel = new VhostUserChannel(back))
        {
            UnixSocket.Send(front, bytes, fds);
            return channel.ReceiveRequest();
        }
    }

    public static VhostUserOptionsBuilder Options => new();

    public static byte[] BlockConfig()
    {
        var config = new byte[60];
        BitConverter.TryWriteBytes(config.AsSpan(0), 131072UL);
        BitConverter.TryWriteBytes(config.AsSpan(12), 126u);
        return config;
    }
}

internal sealed class VhostUserOptionsBuilder
{
    public VhostUserDeviceOptions Build(int queues = 2, VhostUserProtocolFeatures protocol = VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config)
    {
        byte[] config = VhostUserTestSupport.BlockConfig();
        return new VhostUserDeviceOptions(queues, (1UL << 1) | (1UL << 2) | (1UL << 29), protocol, () => config);
    }
}
