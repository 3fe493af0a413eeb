using System.Globalization;

namespace Lguest.Actors.Configuration;

/// <summary>Strict parsers for what a net device is configured with; IPAddress.TryParse accepts "10" or "10.1".</summary>
internal static class NetworkAddresses
{
    /// <summary>Linux's IFNAMSIZ less the terminating NUL.</summary>
    public const int MaxInterfaceName = 15;

    /// <summary>A /24 unless told otherwise: room for a guest, and never a whole class A network of the host's.</summary>
    public const int DefaultPrefixLength = 24;

    /// <summary>The host end and a guest need two usable addresses, so /30 is the narrowest subnet.</summary>
    public const int MaxPrefixLength = 30;

    /// <summary>Four dot-separated decimal numbers 0..255.</summary>
    public static bool IsIPv4(string text)
    {
        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(p =>
            p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)
            && int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture) <= 255);
    }

    /// <summary>The address as a number, most significant octet first; the text must pass <see cref="IsIPv4"/>.</summary>
    public static uint ToNumber(string address)
        => address.Split('.').Aggregate(0u, (n, part) => (n << 8) | uint.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture));

    public static string FromNumber(uint address)
        => string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xFF}.{(address >> 8) & 0xFF}.{address & 0xFF}");

    /// <summary>The netmask of a prefix length 0..32 (24 gives 255.255.255.0 as 0xFFFFFF00).</summary>
    public static uint Netmask(int prefixLength) => prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);

    /// <summary>Null when <paramref name="address"/> may be a host in the subnet; otherwise why it may not.</summary>
    public static string? HostProblem(uint address, int prefixLength)
    {
        uint mask = Netmask(prefixLength);
        return (address & ~mask) == 0 ? "the network address of"
            : (address & ~mask) == ~mask ? "the broadcast address of"
            : null;
    }

    /// <summary>"10.0.0.0/24" for any address in that subnet.</summary>
    public static string Subnet(uint address, int prefixLength)
        => $"{FromNumber(address & Netmask(prefixLength))}/{prefixLength}";

    /// <summary>Six colon-separated pairs of hex digits, as the seed's str2mac expects.</summary>
    public static bool IsMac(string text)
    {
        string[] parts = text.Split(':');
        return parts.Length == 6 && parts.All(p => p.Length == 2 && p.All(char.IsAsciiHexDigit));
    }

    /// <summary>What the kernel accepts as a network interface name.</summary>
    public static bool IsInterfaceName(string text) =>
        text.Length is > 0 and <= MaxInterfaceName && text is not "." and not ".."
        && !text.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c));
}
