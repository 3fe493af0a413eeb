using System.Runtime.CompilerServices;
using Lguest.Native.Memory;
using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit;

/// <summary>One lguest_vqconfig as the guest read it: the ring's size, its interrupt line and its page frame.</summary>
public sealed record VirtqueueConfig(int Index, ushort Size, ushort Irq, uint Pfn)
{
    /// <summary>Where the guest lays out the ring, and the address it notifies to kick it.</summary>
    public ulong RingAddress => (ulong)Pfn * 4096;
}

/// <summary>
/// One device found on the lguest device page, as Linux's lguest_device.c sees it: the record's raw fields and the
/// operations the lguest bus driver performs on them (status writes with a notify, feature acknowledgement, config
/// reads). Offsets were taken from the page once, at probe; the bytes are read live.
/// </summary>
public sealed class ProbedDevice
{
    private const int StatusOffset = 4;
    private const int MaxFeatureBits = 32;

    internal ProbedDevice(
        GuestMemory memory, int index, byte type, ulong descriptorAddress, IReadOnlyList<VirtqueueConfig> queues, int featureLength, int configLength)
    {
        Memory = memory;
        Index = index;
        Type = type;
        DescriptorAddress = descriptorAddress;
        Queues = queues;
        FeatureLength = featureLength;
        ConfigLength = configLength;
    }

    public GuestMemory Memory { get; }

    /// <summary>Position on the bus, from 0.</summary>
    public int Index { get; }

    /// <summary>The virtio device id.</summary>
    public byte Type { get; }

    public string Name => VirtioNumbers.DeviceName(Type);

    public ulong DescriptorAddress { get; }

    public IReadOnlyList<VirtqueueConfig> Queues { get; }

    public int FeatureLength { get; }

    public int ConfigLength { get; }

    public ulong OfferedFeaturesAddress => DescriptorAddress + 5 + 8UL * (ulong)Queues.Count;

    public ulong AcknowledgedFeaturesAddress => OfferedFeaturesAddress + (ulong)FeatureLength;

    public ulong ConfigAddress => AcknowledgedFeaturesAddress + (ulong)FeatureLength;

    public byte Status => Memory.Read<byte>(DescriptorAddress + StatusOffset);

    /// <summary>The offered bits the driver can see: Linux's lguest driver reads at most 32.</summary>
    public ulong OfferedFeatures => ReadBits(OfferedFeaturesAddress);

    public ulong AcknowledgedFeatures => ReadBits(AcknowledgedFeaturesAddress);

    /// <summary>lg_set_status: write the status byte, then notify the descriptor so the launcher looks at it.</summary>
    public void SetStatus(ISimulatedHypervisor hv, byte status)
    {
        ArgumentNullException.ThrowIfNull(hv);
        Memory.Write(DescriptorAddress + StatusOffset, status);
        hv.Notify(DescriptorAddress);
    }

    public void AddStatus(ISimulatedHypervisor hv, byte bits) => SetStatus(hv, (byte)(Status | bits));

    /// <summary>
    /// lg_finalize_features: acknowledge what both sides support, within the 32 bits and the feature bytes the
    /// page has; returns the accepted set. The launcher reads it when DRIVER_OK arrives.
    /// </summary>
    public ulong AcknowledgeFeatures(ulong supported)
    {
        ulong accepted = OfferedFeatures & supported;
        for (int i = 0; i < FeatureLength; i++)
        {
            Memory.Write(AcknowledgedFeaturesAddress + (ulong)i, i < MaxFeatureBits / 8 ? (byte)(accepted >> (8 * i)) : (byte)0);
        }
        return accepted;
    }

    /// <summary>Copies config bytes out; reading past config_len is refused, as the lguest driver BUG()s on it.</summary>
    public void ReadConfig(int offset, Span<byte> into)
    {
        if (offset < 0 || offset + into.Length > ConfigLength)
        {
            throw new SimulatedGuestException($"{Name}: config read of {into.Length} bytes at {offset} is past config_len {ConfigLength}");
        }
        Memory.Read(ConfigAddress + (ulong)offset, into);
    }

    public T ReadConfig<T>(int offset)
        where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        if (offset < 0 || offset + size > ConfigLength)
        {
            throw new SimulatedGuestException($"{Name}: config read of {size} bytes at {offset} is past config_len {ConfigLength}");
        }
        return Memory.Read<T>(ConfigAddress + (ulong)offset);
    }

    /// <summary>
    /// What the virtio core and the lguest bus do when a driver binds: ACKNOWLEDGE, DRIVER, feature negotiation,
    /// then each queue laid out at its pfn; DRIVER_OK follows once the driver has set itself up
    /// (<see cref="BoundDevice.Ready"/>). Throws when the device has fewer than <paramref name="queues"/> queues, after
    /// marking it FAILED as the virtio core does when a probe fails.
    /// </summary>
    public BoundDevice Bind(ISimulatedHypervisor hv, ulong supported, int queues, TimeSpan timeout)
    {
        AddStatus(hv, DriverStatus.Acknowledge);
        AddStatus(hv, DriverStatus.Driver);
        ulong accepted = AcknowledgeFeatures(supported);
        if (Queues.Count < queues)
        {
            AddStatus(hv, DriverStatus.Failed);
            throw new SimulatedGuestException($"virtio {Name} (device {Index}): {Queues.Count} queue(s), the driver needs {queues}");
        }
        var bound = new GuestVirtqueue[queues];
        for (int i = 0; i < queues; i++)
        {
            VirtqueueConfig config = Queues[i];
            if (config.Size == 0 || (config.Size & (config.Size - 1)) != 0)
            {
                AddStatus(hv, DriverStatus.Failed);
                throw new SimulatedGuestException($"virtio {Name} (device {Index}): queue {i} has size {config.Size}, not a power of two");
            }
            var queue = new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(config.RingAddress, config.Size, 4096), accepted);
            bound[i] = new GuestVirtqueue(hv, queue, config, $"{Name}{Index}/{i}", timeout);
        }
        return new BoundDevice(this, hv, accepted, bound);
    }

    private ulong ReadBits(ulong address)
    {
        ulong bits = 0;
        for (int i = 0; i < Math.Min(FeatureLength, MaxFeatureBits / 8); i++)
        {
            bits |= (ulong)Memory.Read<byte>(address + (ulong)i) << (8 * i);
        }
        return bits;
    }
}

/// <summary>A device a driver has bound: the accepted features and its queues.</summary>
public sealed class BoundDevice(ProbedDevice device, ISimulatedHypervisor hv, ulong features, IReadOnlyList<GuestVirtqueue> queues)
{
    public ProbedDevice Device { get; } = device;

    public ulong Features { get; } = features;

    public IReadOnlyList<GuestVirtqueue> Queues { get; } = queues;

    public bool Has(int bit) => (Features & (1UL << bit)) != 0;

    /// <summary>DRIVER_OK: the virtio core sets it after the driver's probe returns.</summary>
    public void Ready() => Device.AddStatus(hv, DriverStatus.DriverOk);
}
