using System.Net;
using System.Net.Sockets;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// The host-side configuration of a network interface: the classic socket ioctls, made on any AF_INET datagram
/// socket (the kernel only wants a socket to hang the request on).
/// </summary>
internal static unsafe class NetworkInterfaces
{
    /// <summary>linux/sockios.h: set the interface's IPv4 netmask.</summary>
    private const nuint SIOCSIFNETMASK = 0x891c;

    /// <summary>The interface's index, or 0 when no interface has that name.</summary>
    public static uint IndexOf(string name) => LibC.if_nametoindex(name);

    /// <summary>
    /// Gives <paramref name="interfaceName"/> an IPv4 address and netmask (SIOCSIFADDR, then SIOCSIFNETMASK).
    /// SIOCSIFADDR alone leaves the classful mask (a /8 for any 10.x address); done while the interface is down,
    /// the kernel adds the subnet route only when it comes up, by then with the right mask.
    /// </summary>
    public static void SetAddress(string interfaceName, IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        InterfaceRequest request = default;
        request.SetName(interfaceName);
        request.AddressFamily = LibC.AF_INET;
        Span<byte> bytes = new(&request.AddressBytes, sizeof(uint));
        address.TryWriteBytes(bytes, out _); // network order, as sockaddr_in wants
        Control(LibC.SIOCSIFADDR, ref request, $"set the address of {interfaceName} to {address}");

        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        request.AddressFamily = LibC.AF_INET;
        request.AddressBytes = (uint)IPAddress.HostToNetworkOrder((int)mask);
        Control(SIOCSIFNETMASK, ref request, $"set the netmask of {interfaceName} to /{prefixLength}");
    }

    /// <summary>Brings <paramref name="interfaceName"/> up, keeping its other flags.</summary>
    public static void BringUp(string interfaceName)
    {
        InterfaceRequest request = default;
        request.SetName(interfaceName);
        Control(LibC.SIOCGIFFLAGS, ref request, $"read the flags of {interfaceName}");
        request.Flags |= LibC.IFF_UP;
        Control(LibC.SIOCSIFFLAGS, ref request, $"bring {interfaceName} up");
    }

    /// <summary>Attaches <paramref name="interfaceName"/> to the existing bridge <paramref name="bridge"/> (SIOCBRADDIF).</summary>
    public static void AddToBridge(string bridge, string interfaceName)
    {
        uint index = IndexOf(interfaceName);
        if (index == 0)
        {
            SystemCall.Throw(Errno.ENODEV, $"find interface {interfaceName}");
        }
        InterfaceRequest request = default;
        request.SetName(bridge);
        request.Index = (int)index;
        Control(LibC.SIOCBRADDIF, ref request, $"add {interfaceName} to bridge {bridge}");
    }

    private static void Control(nuint command, ref InterfaceRequest request, string operation)
    {
        int socket = (int)SystemCall.ThrowIfFailed(Linux.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0), "open an IP socket");
        using var owner = FileDescriptor.Adopt(socket);
        fixed (InterfaceRequest* p = &request)
        {
            long r = SystemCall.Uninterrupted(new Interruptible.Control(socket, command, p));
            SystemCall.ThrowIfFailed(r, operation);
        }
    }
}
