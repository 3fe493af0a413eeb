using Lguest.Actors.Queues;
using Lguest.Native.Memory;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// A virtio-net device whose wire is a port of a <see cref="NetworkSwitch"/>: to the guest it is the same network
/// card as a tap-backed one (same features, same config), but its frames go to the other guests on the segment.
/// The device attaches its port when the driver starts it and detaches it on every reset, so only a guest that can
/// take frames is sent any. It owns no host resource: the switch does.
/// </summary>
internal sealed class SwitchPortDevice : VirtioDevice
{
    private readonly SwitchPort _port;
    private readonly byte[] _config = new byte[NetDevice.ConfigSize];
    private readonly IReadOnlyList<QueueDefinition> _queues;
    private int _headerSize = NetProtocol.LegacyHeaderSize;
    private ulong _features;

    public SwitchPortDevice(SwitchPort port, byte[]? mac)
    {
        ArgumentNullException.ThrowIfNull(port);
        _port = port;
        mac?.CopyTo(_config, 0);
        OfferedFeatures = NetProtocol.Features | (mac is null ? 0 : 1UL << NetProtocol.FeatureMac);
        _queues =
        [
            new QueueDefinition("receive", NetDevice.QueueSize, () => new SwitchReceiveHandler(_port, _headerSize, _features)),
            new QueueDefinition("transmit", NetDevice.QueueSize, () => new SwitchTransmitHandler(_port, _headerSize)),
        ];
    }

    public override byte DeviceType => NetProtocol.DeviceId;

    public override string Name => "net";

    public override ulong OfferedFeatures { get; }

    public override IReadOnlyList<QueueDefinition> Queues => _queues;

    public override ReadOnlyMemory<byte> Config => _config;

    public SwitchPort Port => _port;

    public override string Describe() => $"port {_port.Name} of switch {_port.Switch.Name}";

    /// <summary>The header size and offloads the driver chose decide how frames are written to it, so they are kept for the handlers.</summary>
    public override void Activate(GuestMemory memory, ulong features)
    {
        _headerSize = NetProtocol.HeaderSizeFor(features);
        _features = features;
        _port.Attach(features);
    }

    /// <summary>Every queue has stopped: the port is detached until the driver starts the device again.</summary>
    public override void Reset() => _port.Detach();
}
