using System.Globalization;

namespace Lguest.Actors.Devices.Net;

/// <summary>virtio-net's numbers as the seed used them: the legacy 10-byte header, no mergeable buffers.</summary>
internal static class NetProtocol
{
    public const byte DeviceId = 1;

    /// <summary>struct virtio_net_hdr without num_buffers: what IFF_VNET_HDR puts before every tap frame too.</summary>
    public const int HeaderSize = 10;

    /// <summary>Room for the header and the largest frame a GSO-capable tap hands us (64 KiB of IP, Ethernet and VLAN headers).</summary>
    public const int MaxFrame = HeaderSize + 65535 + 18;

    public const int FeatureCsum = 0;
    public const int FeatureGuestCsum = 1;
    public const int FeatureMac = 5;
    public const int FeatureGuestTso4 = 7;
    public const int FeatureGuestTso6 = 8;
    public const int FeatureGuestEcn = 9;
    public const int FeatureHostTso4 = 11;
    public const int FeatureHostTso6 = 12;
    public const int FeatureHostEcn = 13;
    public const int FeatureIndirectDescriptors = 28;

    /// <summary>We expect the guest to handle everything except UFO, and we handle indirect ring entries.</summary>
    public const ulong Features =
        (1UL << FeatureCsum) | (1UL << FeatureGuestCsum) | (1UL << FeatureGuestTso4) | (1UL << FeatureGuestTso6)
        | (1UL << FeatureGuestEcn) | (1UL << FeatureHostTso4) | (1UL << FeatureHostTso6) | (1UL << FeatureHostEcn)
        | (1UL << FeatureIndirectDescriptors);

    /// <summary>"aa:bb:cc:dd:ee:ff" to six bytes; null when <paramref name="text"/> is not one.</summary>
    public static byte[]? ParseMac(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length != 6)
        {
            return null;
        }
        var mac = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out mac[i]))
            {
                return null;
            }
        }
        return mac;
    }
}
