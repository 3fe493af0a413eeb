using Lguest.Actors.Configuration;
using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Net;

/// <summary>
/// A host-to-guest network over a tap device: we just shunt frames between the guest's queues and the tap, which
/// expects exactly the guest's format, virtio header and all. Two queues, receive and transmit.
/// </summary>
internal sealed class NetDevice : VirtioDevice
{
    public const ushort QueueSize = 256;

    /// <summary>
    /// sizeof(struct virtio_net_config) as the seed's set_config() passed it: mac[6] then u16 status. STATUS is not
    /// offered, so the guest never reads the status word; it is there (zero) because the seed's config_len said 8.
    /// </summary>
    public const int ConfigSize = 8;

    private readonly FileDescriptor _frames;
    private readonly bool _isTap;
    private readonly string _description;
    private int _headerSize = NetProtocol.LegacyHeaderSize;
    private readonly byte[] _config;
    private readonly IReadOnlyList<QueueDefinition> _queues;

    public NetDevice(NetSettings settings)
        : this(settings, ParseMac(settings))
    {
    }

    /// <summary>
    /// Over any descriptor that reads and writes whole frames with a virtio-net header: a tap, or one end of a
    /// datagram socket pair in tests. The device owns <paramref name="frames"/>.
    /// </summary>
    public NetDevice(FileDescriptor frames, string description, byte[]? mac, bool isTap = false)
    {
        ArgumentNullException.ThrowIfNull(frames);
        _frames = frames;
        _isTap = isTap;
        _description = description;
        _config = new byte[ConfigSize];
        mac?.CopyTo(_config, 0);
        OfferedFeatures = NetProtocol.Features | (mac is null ? 0 : 1UL << NetProtocol.FeatureMac);
        _queues =
        [
            new QueueDefinition("receive", QueueSize, () => new NetReceiveHandler(_frames, Counters, _headerSize)),
            new QueueDefinition("transmit", QueueSize, () => new NetTransmitHandler(_frames, Counters, _headerSize)),
        ];
    }

    /// <summary>The MAC is checked before the tap exists, so a bad one cannot leak an interface.</summary>
    private NetDevice(NetSettings settings, byte[]? mac)
        : this(TapInterface.Open(settings), mac)
    {
    }

    private NetDevice(TapInterface tap, byte[]? mac)
        : this(tap.Descriptor, tap.Description, mac, isTap: true)
    {
    }

    public override byte DeviceType => NetProtocol.DeviceId;

    public override string Name => "net";

    public override ulong OfferedFeatures { get; }

    public override IReadOnlyList<QueueDefinition> Queues => _queues;

    /// <summary>mac[6] (meaningful only with VIRTIO_NET_F_MAC; zeroes otherwise), then a zero u16 status.</summary>
    public override ReadOnlyMemory<byte> Config => _config;

    public DeviceCounters Counters { get; } = new("net");

    public override string Describe() => _description;

    /// <summary>
    /// A legacy driver (lguest's) puts a 10-byte header before each frame, a VERSION_1 driver (QEMU's virtio-net-pci
    /// over vhost-user) 12: the tap is told to match, so frames still pass through untouched.
    /// </summary>
    public override void Activate(Native.Memory.GuestMemory memory, ulong features)
    {
        _headerSize = NetProtocol.HeaderSizeFor(features);
        if (_isTap)
        {
            Tap.SetVnetHeaderSize(_frames, _headerSize);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _frames.Dispose();
        }
        base.Dispose(disposing);
    }

    private static byte[]? ParseMac(NetSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrEmpty(settings.Mac))
        {
            return null;
        }
        return NetProtocol.ParseMac(settings.Mac)
            ?? throw new ConfigurationException("net.mac", $"'{settings.Mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    }
}
