using System.Net;
using System.Net.Sockets;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>The guest end of a routed tap, as /init's lguest.ip=ADDR/PREFIX wants it; none for a bridged tap.</summary>
internal static class QemuGuestNetwork
{
    private const int DefaultPrefixLength = 24;

    /// <summary>The host address plus one, in the host address's /24.</summary>
    public static string? GuestAddress(NetSettings net)
    {
        if (string.IsNullOrEmpty(net.Address) || !IPAddress.TryParse(net.Address, out IPAddress? host) || host.AddressFamily != AddressFamily.InterNetwork)
        {
            return null;
        }
        byte[] bytes = host.GetAddressBytes();
        uint value = ((uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3]) + 1;
        var guest = new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
        return $"{guest}/{DefaultPrefixLength}";
    }
}
