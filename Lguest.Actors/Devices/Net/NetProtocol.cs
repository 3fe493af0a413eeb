using System.Globalization;

namespace Lguest.Actors.Devices.Net;

/// <summary>virtio-net's numbers: the seed's legacy device (10-byte header, no mergeable buffers) and VERSION_1's header.</summary>
internal static class NetProtocol
{
    public const byte DeviceId = 1;

    /// <summary>struct virtio_net_hdr without num_buffers: what a legacy driver and IFF_VNET_HDR's default use.</summary>
    public const int LegacyHeaderSize = 10;

    /// <summary>struct virtio_net_hdr_mrg_rxbuf: VERSION_1 always has num_buffers (virtio 1.2 §5.1.6).</summary>
    public const int ModernHeaderSize = 12;

    /// <summary>Room for the header and the largest frame a GSO-capable tap hands us (64 KiB of IP, Ethernet and VLAN headers).</summary>
    public const int MaxFrame = ModernHeaderSize + 65535 + 18;

    public const int FeatureMergeableRxBuffers = 15;
    public const int FeatureVersion1 = 32;

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

    /// <summary>The header length the driver uses with <paramref name="features"/> negotiated.</summary>
    public static int HeaderSizeFor(ulong features) =>
        (features & ((1UL << FeatureVersion1) | (1UL << FeatureMergeableRxBuffers))) != 0 ? ModernHeaderSize : LegacyHeaderSize;

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
