using System.Globalization;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>The guest end of a routed tap, as /init's lguest.ip=ADDR/PREFIX wants it; none for a bridged tap.</summary>
internal static class QemuGuestNetwork
{
    /// <summary>guest-address (default: the host address + 1) in the tap's prefix-length.</summary>
    public static string? GuestAddress(NetSettings net) =>
        string.IsNullOrEmpty(net.Address) || string.IsNullOrEmpty(net.GuestAddress)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{net.GuestAddress}/{net.PrefixLength}");
}
