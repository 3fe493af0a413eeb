using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Support;

/// <summary>
/// The test playing the guest against a <see cref="ScriptedEngine"/>: it parses the device page from raw bytes,
/// writes status bytes and notifies, lays out rings and kicks them the way the host kernel delivers a kick
/// (through the attached eventfd when there is one, as a NOTIFY otherwise).
/// </summary>
internal sealed class GuestSide(ScriptedEngine engine, ulong memoryBytes)
{
    public const byte Acknowledge = 1;
    public const byte Driver = 2;
    public const byte DriverOk = 4;
    public const byte NeedsReset = 64;
    public const byte Failed = 128;

    private ulong _nextBuffer = 8UL << 20;

    public GuestMemory Memory => engine.Memory ?? throw new InvalidOperationException("not booted");

    public ulong DescriptorAddress(int device)
    {
        ulong address = memoryBytes;
        for (int i = 0; i < device; i++)
        {
            address += 5UL + (8UL * Memory.Read<byte>(address + 1)) + (2UL * Memory.Read<byte>(address + 2)) + Memory.Read<byte>(address + 3);
        }
        return address;
    }

    public byte Status(int device) => Memory.Read<byte>(DescriptorAddress(device) + 4);

    public void SetStatus(int device, byte status)
    {
        Memory.Write(DescriptorAddress(device) + 4, status);
        engine.NotifyAndWait(DescriptorAddress(device));
    }

    /// <summary>What the driver does to bring a device up: ACKNOWLEDGE, DRIVER, then DRIVER_OK.</summary>
    public void Start(int device)
    {
        SetStatus(device, Acknowledge);
        SetStatus(device, Acknowledge | Driver);
        SetStatus(device, Acknowledge | Driver | DriverOk);
    }

    /// <summary>As a Linux driver orders it: ACKNOWLEDGE, DRIVER, lay out the ring, then DRIVER_OK.</summary>
    public SplitRingDriver StartWithQueue(int device, int queue)
    {
        SetStatus(device, Acknowledge);
        SetStatus(device, Acknowledge | Driver);
        SplitRingDriver ring = LayOut(device, queue);
        SetStatus(device, Acknowledge | Driver | DriverOk);
        return ring;
    }

    public (ulong Ring, ushort Size, ushort Irq) Queue(int device, int queue)
    {
        ulong vqconfig = DescriptorAddress(device) + 5 + (8UL * (ulong)queue);
        return (Memory.Read<uint>(vqconfig + 4) * 4096UL, Memory.Read<ushort>(vqconfig), Memory.Read<ushort>(vqconfig + 2));
    }

    public SplitRingDriver LayOut(int device, int queue, ulong negotiatedFeatures = 0)
    {
        (ulong ring, ushort size, _) = Queue(device, queue);
        return new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(ring, size), negotiatedFeatures);
    }

    /// <summary>A guest buffer holding <paramref name="data"/>.</summary>
    public DriverBuffer Readable(params byte[] data)
    {
        ulong address = _nextBuffer;
        _nextBuffer += 4096;
        Memory.Write(address, data);
        return new DriverBuffer(address, (uint)data.Length, DeviceWritable: false);
    }

    /// <summary>LHCALL_NOTIFY on the queue's address, delivered as the host kernel would.</summary>
    public void Kick(int device, int queue)
    {
        ulong ring = Queue(device, queue).Ring;
        if (engine.EventFds.TryGetValue(ring, out Native.Interop.EventFd? kick))
        {
            kick.Signal();
        }
        else
        {
            engine.NotifyAndWait(ring);
        }
    }

    /// <summary>Polls the used ring until an entry appears (the device runs on its own threads).</summary>
    public (ushort Head, uint Length) WaitUsed(SplitRingDriver queue, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (queue.TryGetUsed(out ushort head, out uint length))
            {
                return (head, length);
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the device never used the buffer");
            }
            Thread.Sleep(1);
        }
    }
}
