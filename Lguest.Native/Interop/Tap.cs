using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// The tun/tap driver: a tap device is a network interface on the host whose other end is a file descriptor, so
/// each read is one Ethernet frame the host sent and each write injects one as if it arrived on a wire. With
/// IFF_VNET_HDR every frame carries virtio-net's own header first: the guest's format, byte for byte.
/// </summary>
internal static unsafe class Tap
{
    public const string ControlDevice = "/dev/net/tun";

    /// <summary>
    /// Opens a non-blocking tap with a virtio-net header and no packet information, named after
    /// <paramref name="namePattern"/> ("tap%d" lets the kernel pick the number); <paramref name="name"/> is the name given.
    /// </summary>
    public static FileDescriptor Open(string namePattern, out string name)
    {
        FileDescriptor tap = FileDescriptor.Open(ControlDevice, LibC.O_RDWR | LibC.O_NONBLOCK);
        try
        {
            InterfaceRequest request = default;
            request.SetName(namePattern);
            request.Flags = LibC.IFF_TAP | LibC.IFF_NO_PI | LibC.IFF_VNET_HDR;
            using (FileDescriptor.Lease fd = tap.Borrow())
            {
                SystemCall.ThrowIfFailed(Linux.ioctl(fd.Number, (int)LibC.TUNSETIFF, &request), $"TUNSETIFF {namePattern}");
            }
            name = request.GetName();
            return tap;
        }
        catch
        {
            tap.Dispose();
            throw;
        }
    }

    /// <summary>Tells the tap the guest handles checksums and segmentation offload (everything except UFO).</summary>
    public static void SetOffload(FileDescriptor tap, uint offloads)
    {
        using FileDescriptor.Lease fd = tap.Borrow();
        SystemCall.ThrowIfFailed(Linux.ioctl(fd.Number, (int)LibC.TUNSETOFFLOAD, (int)offloads), "TUNSETOFFLOAD");
    }

    /// <summary>
    /// Asks the tap not to checksum frames coming in from the guest: trust us. Modern kernels accept this and do
    /// nothing, older ones may refuse it; either way the frames flow, so the result is deliberately ignored.
    /// </summary>
    public static void TrustChecksums(FileDescriptor tap)
    {
        using FileDescriptor.Lease fd = tap.Borrow();
        _ = Linux.ioctl(fd.Number, (int)LibC.TUNSETNOCSUM, 1);
    }

    /// <summary>
    /// TUNSETVNETHDRSZ: how long the virtio-net header before every frame is. 10 bytes for a legacy driver (the
    /// seed's), 12 once the driver negotiates VERSION_1 or mergeable buffers; the tap then speaks the guest's format.
    /// </summary>
    public static void SetVnetHeaderSize(FileDescriptor tap, int bytes)
    {
        using FileDescriptor.Lease fd = tap.Borrow();
        int size = bytes;
        SystemCall.ThrowIfFailed(Linux.ioctl(fd.Number, (int)LibC.TUNSETVNETHDRSZ, &size), $"TUNSETVNETHDRSZ {bytes}");
    }
}
