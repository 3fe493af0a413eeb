using System.Globalization;

namespace Lguest.Actors.Configuration;

/// <summary>Strict parsers for what a net device is configured with; IPAddress.TryParse accepts "10" or "10.1".</summary>
internal static class NetworkAddresses
{
    /// <summary>Linux's IFNAMSIZ less the terminating NUL.</summary>
    public const int MaxInterfaceName = 15;

    /// <summary>Four dot-separated decimal numbers 0..255.</summary>
    public static bool IsIPv4(string text)
    {
        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(p =>
            p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)
            && int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture) <= 255);
    }

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
