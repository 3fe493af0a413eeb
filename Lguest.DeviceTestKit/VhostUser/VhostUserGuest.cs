using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.VhostUser;

namespace Lguest.DeviceTestKit.VhostUser;

/// <summary>
/// A guest as a vhost-user front end presents it to a back end: guest memory in a shared memfd, the handshake QEMU
/// does, and rings laid out and driven by the TestKit's <see cref="SplitRingDriver"/> (written from the spec, not from
/// the back end's ring code), started with a kick and a call eventfd each. Tests drive our back end with it without
/// QEMU; the benchmarks use it as a load generator against any back end. The message codec
/// (<see cref="VhostUserFrontEnd"/>) is shared with the back end: the wire format is one specification both sides
/// must agree on, and the back end's own handshake tests check it against QEMU's byte layout.
/// </summary>
public sealed class VhostUserGuest : IDisposable
{
    private VhostUserFrontEnd _frontEnd;
    private readonly FileDescriptor _memfd;
    private readonly MemoryMapping _mapping;
    private readonly Dictionary<int, (EventFd Kick, EventFd Call)> _doorbells = [];

    /// <summary>Connects to <paramref name="socketPath"/> with <paramref name="memorySize"/> bytes of shared memory at guest-physical 0.</summary>
    public VhostUserGuest(string socketPath, ulong memorySize)
    {
        // Connect first: a back end that is not listening yet leaves nothing allocated behind the exception.
        _frontEnd = new VhostUserFrontEnd(UnixSocket.Connect(socketPath));
        _memfd = MemFd.Create("vhost-user guest", memorySize);
        _mapping = MemoryMapping.MapShared(_memfd, 0, memorySize);
        Memory = new GuestMemory([new GuestMemoryRegion(0, _mapping, userAddress: (ulong)_mapping.Address)]);
    }

    public GuestMemory Memory { get; }

    /// <summary>The message-level front end, for tests of what the back end does with unusual requests.</summary>
    public VhostUserFrontEnd FrontEnd => _frontEnd;

    public ulong Features { get; private set; }

    /// <summary>GET/SET_FEATURES, GET/SET_PROTOCOL_FEATURES and SET_OWNER, taking what is offered of what is wanted.</summary>
    public void Negotiate(ulong wantedFeatures, VhostUserProtocolFeatures wantedProtocol)
    {
        ulong offered = _frontEnd.GetFeatures();
        Features = offered & (wantedFeatures | VhostUserFeatures.ProtocolFeatures);
        if ((Features & VhostUserFeatures.ProtocolFeatures) != 0)
        {
            var offeredProtocol = (VhostUserProtocolFeatures)_frontEnd.GetProtocolFeatures();
            _frontEnd.SetProtocolFeatures(offeredProtocol & wantedProtocol);
        }
        _frontEnd.SetFeatures(Features);
        _frontEnd.SetOwner();
    }

    /// <summary>SET_MEM_TABLE: one region covering all of guest memory, passed as the memfd.</summary>
    public void SendMemoryTable()
    {
        var table = new VhostUserMemoryTable([new VhostUserMemoryRegion(0, _mapping.Length, (ulong)_mapping.Address, 0)]);
        _frontEnd.SetMemTable(table, [_memfd]);
    }

    /// <summary>
    /// Lays out ring <paramref name="index"/> at <paramref name="ringAddress"/> and starts it as QEMU does: NUM, BASE,
    /// ADDR, CALL, KICK, then ENABLE. Returns the driver side of the ring and its call eventfd.
    /// </summary>
    public (SplitRingDriver Driver, EventFd Call) StartRing(int index, ulong ringAddress, ushort size, ushort startIndex = 0)
    {
        // QEMU lays rings out as Linux's vring_init does: the legacy layout (virtio 1.x 2.7.2), used ring 4096-aligned.
        SplitRingAddresses layout = SplitRingSpec.LegacyLayout(ringAddress, size);
        var driver = new SplitRingDriver(Memory, layout, Features);
        if (startIndex != 0)
        {
            driver.SetAvailableIndex(startIndex);
        }
        var kick = EventFd.Create();
        var call = EventFd.Create();
        _doorbells[index] = (kick, call);
        SendRing(index, layout, startIndex);
        return (driver, call);
    }

    /// <summary>
    /// Why: after the back end died, the ring lives on in guest memory with requests still in it. As QEMU does when
    /// GET_VRING_BASE could not be answered, the ring is handed to the new back end from its used index, with the same
    /// doorbells; with INFLIGHT_SHMFD the back end finds what it had taken in the inflight region.
    /// </summary>
    public void ResumeRing(int index, ulong ringAddress, ushort size)
    {
        SplitRingAddresses layout = SplitRingSpec.LegacyLayout(ringAddress, size);
        SendRing(index, layout, Memory.Read<ushort>(layout.UsedIndex));
    }

    /// <summary>Drops the connection and connects again to <paramref name="socketPath"/>; memory and rings stay.</summary>
    public void Reconnect(string socketPath)
    {
        var next = new VhostUserFrontEnd(UnixSocket.Connect(socketPath));
        _frontEnd.Dispose();
        _frontEnd = next;
    }

    private void SendRing(int index, SplitRingAddresses layout, ushort startIndex)
    {
        (EventFd kick, EventFd call) = _doorbells[index];
        ulong host = (ulong)_mapping.Address;
        _frontEnd.SetVringNum((uint)index, layout.Size);
        _frontEnd.SetVringBase((uint)index, startIndex);
        _frontEnd.SetVringAddr(new VhostUserVringAddress(
            (uint)index, 0, host + layout.Descriptors, host + layout.Used, host + layout.Avail, 0));
        _frontEnd.SetVringFile(VhostUserRequest.SetVringCall, (uint)index, call.Descriptor);
        _frontEnd.SetVringFile(VhostUserRequest.SetVringKick, (uint)index, kick.Descriptor);
        if ((Features & VhostUserFeatures.ProtocolFeatures) != 0)
        {
            _frontEnd.SetVringEnable((uint)index, enable: true);
        }
    }

    /// <summary>Rings ring <paramref name="index"/>'s kick eventfd, as KVM does when the guest notifies.</summary>
    public void Kick(int index) => _doorbells[index].Kick.Signal();

    /// <summary>GET_VRING_BASE: stops the ring in the back end and returns the next available index it would have read.</summary>
    public ushort StopRing(int index) => (ushort)_frontEnd.GetVringBase((uint)index);

    /// <summary>GET_CONFIG of <paramref name="size"/> bytes from offset 0.</summary>
    public byte[] ReadConfig(int size) => _frontEnd.GetConfig(0, size);

    public void Dispose()
    {
        _frontEnd.Dispose();
        foreach ((EventFd kick, EventFd call) in _doorbells.Values)
        {
            kick.Dispose();
            call.Dispose();
        }
        Memory.Dispose();
        _memfd.Dispose();
    }
}
