using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The guest end of a net device, as /init's lguest.ip=ADDR/PREFIX wants it: on a routed tap the guest-address (by
/// default the host address + 1); on an external back end (a switch port) only a guest-address that was given; on a
/// bridged tap none, since the bridge's segment hands out its own.
/// </summary>
internal static class QemuGuestNetwork
{
    public static string? GuestAddress(NetSettings net)
    {
        bool addressed = !string.IsNullOrEmpty(net.Address) || !string.IsNullOrEmpty(net.VhostUserSocket);
        return !addressed || string.IsNullOrEmpty(net.GuestAddress)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{net.GuestAddress}/{net.PrefixLength}");
    }

    /// <summary>
    /// The NIC's MAC: the configured one; on an external back end without one, one derived from the socket's full
    /// path. QEMU would give every guest the same 52:54:00:12:34:56, and two guests with one MAC on a switch never
    /// reach each other; a path-derived MAC differs per port and stays the same when the guest restarts on that
    /// port, so its peers' ARP caches stay right. Locally administered, unicast (the first byte's low bits are 10).
    /// Null on a tap without a configured MAC: QEMU's default is fine on a segment of one.
    /// </summary>
    public static string? Mac(NetSettings net, string? externalSocket)
    {
        if (!string.IsNullOrEmpty(net.Mac) || externalSocket is null)
        {
            return string.IsNullOrEmpty(net.Mac) ? null : net.Mac;
        }
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(externalSocket)));
        hash[0] = (byte)((hash[0] & 0xFC) | 0x02);
        return string.Join(':', hash.Take(6).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }
}
