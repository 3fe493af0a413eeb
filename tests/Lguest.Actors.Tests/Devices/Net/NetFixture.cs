using Lguest.Actors.Devices.Net;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Devices.Net;

/// <summary>
/// A net device over one end of a datagram socket pair, which keeps frame boundaries as a tap does; the test plays
/// the host's network on the other end.
/// </summary>
internal sealed class NetFixture : IDisposable
{
    public NetFixture(byte[]? mac = null)
    {
        (FileDescriptor device, Host) = SocketPair.CreateDatagram(nonBlocking: true);
        Device = new NetDevice(device, "tun test0: 10.0.0.1", mac);
        Receive = Device.Queues[0].CreateHandler!();
        Transmit = Device.Queues[1].CreateHandler!();
        ReceiveRing = new QueueHarness();
        TransmitRing = new QueueHarness();
    }

    /// <summary>The host's end of the "tap".</summary>
    public FileDescriptor Host { get; }

    public NetDevice Device { get; }

    public IQueueHandler Receive { get; }

    public IQueueHandler Transmit { get; }

    public QueueHarness ReceiveRing { get; }

    public QueueHarness TransmitRing { get; }

    /// <summary>A frame with a zeroed virtio-net header in front of <paramref name="payload"/> bytes of pattern.</summary>
    public static byte[] Frame(int payload, int seed = 1)
        => new byte[10].Concat(TempFile.Pattern(payload, seed)).ToArray();

    public void HostSends(byte[] frame) => Assert.Equal(frame.Length, FileIo.Write(Host, frame));

    /// <summary>The next frame the guest sent, or null when there is none.</summary>
    public byte[]? HostReceives()
    {
        var buffer = new byte[70_000];
        long n = NonBlockingIo.TryRead(Host, buffer);
        return n == NonBlockingIo.WouldBlock ? null : buffer[..(int)n];
    }

    public void Dispose()
    {
        Receive.Dispose();
        Transmit.Dispose();
        Device.Dispose();
        Host.Dispose();
        ReceiveRing.Dispose();
        TransmitRing.Dispose();
    }
}
