using System.Buffers.Binary;
using Lguest.Native.Memory;

namespace Lguest.Native.Lguest;

/// <summary>
/// One device's record in the device page: its lguest_device_desc, then its vqconfigs, its offered and acknowledged
/// feature bytes and its config. We keep our own copies of the queue count and feature length, because once the
/// guest has booted it can scribble on the page and we must not trust what we read back for layout.
/// </summary>
public sealed class LguestDevice
{
    private readonly LguestBus _bus;
    private readonly List<LguestVirtqueueInfo> _virtqueues = [];
    private bool _configSet;

    internal LguestDevice(LguestBus bus, int index, byte type, string name, int offset)
    {
        _bus = bus;
        Index = index;
        Type = type;
        Name = name;
        Offset = offset;
        Page[offset + LguestAbi.DescriptorTypeOffset] = type;
    }

    /// <summary>Position on the bus, from 0.</summary>
    public int Index { get; }

    /// <summary>The virtio device id.</summary>
    public byte Type { get; }

    public string Name { get; }

    /// <summary>Guest-physical address of the 5-byte descriptor: the guest notifies it after changing <see cref="Status"/>.</summary>
    public ulong DescriptorAddress => _bus.DevicePageAddress + (ulong)Offset;

    public IReadOnlyList<LguestVirtqueueInfo> Virtqueues => _virtqueues;

    /// <summary>Bytes in each of the two feature arrays (our copy).</summary>
    public int FeatureLength { get; private set; }

    /// <summary>Config bytes (our copy).</summary>
    public int ConfigLength { get; private set; }

    /// <summary>Guest-physical address of the config bytes.</summary>
    public ulong ConfigAddress => _bus.DevicePageAddress + (ulong)ConfigOffset;

    /// <summary>The virtio status byte as the guest last wrote it (0 means reset).</summary>
    public unsafe byte Status => Volatile.Read(ref *Memory.PointerTo<byte>(DescriptorAddress + LguestAbi.DescriptorStatusOffset));

    /// <summary>The feature bits we offer, as the page holds them.</summary>
    public ulong OfferedFeatures => ReadBits(FeaturesOffset);

    /// <summary>The feature bits the guest has acknowledged so far.</summary>
    public ulong AcknowledgedFeatures => ReadBits(FeaturesOffset + FeatureLength);

    /// <summary>The config bytes in guest memory, live: what we write there the guest sees on its next read.</summary>
    public Span<byte> Config => Memory.GetSpan(ConfigAddress, ConfigLength);

    internal int Offset { get; }

    /// <summary>Where the next device's descriptor goes.</summary>
    internal int EndOffset => ConfigOffset + ConfigLength;

    private GuestMemory Memory => _bus.Memory;

    private Span<byte> Page => Memory.GetSpan(_bus.DevicePageAddress, LguestAbi.PageSize);

    private int FeaturesOffset => Offset + LguestAbi.DeviceDescriptorSize + _virtqueues.Count * LguestAbi.VirtqueueConfigSize;

    private int ConfigOffset => FeaturesOffset + 2 * FeatureLength;

    /// <summary>
    /// Gives the device a queue of <paramref name="size"/> descriptors, with its own ring pages and interrupt line.
    /// Queues come first in the record, so none may be added once features or config are there.
    /// </summary>
    public LguestVirtqueueInfo AddVirtqueue(ushort size = LguestAbi.VIRTQUEUE_NUM)
    {
        EnsureLast("add a virtqueue");
        if (FeatureLength != 0 || _configSet)
        {
            throw new InvalidOperationException($"{Name}: virtqueues must be added before features and config");
        }
        if (size == 0 || (size & (size - 1)) != 0 || size > 32768)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "a ring's size is a power of two up to 32768");
        }
        int at = FeaturesOffset;
        LguestBus.EnsureFits(at, LguestAbi.VirtqueueConfigSize);
        ushort irq = _bus.PeekIrq();
        ulong pages = (LguestVirtqueueInfo.RingSize(size) + LguestAbi.PageSize - 1) / LguestAbi.PageSize;
        ulong ring = _bus.AllocatePages(pages);
        _bus.TakeIrq();

        var queue = new LguestVirtqueueInfo(_virtqueues.Count, size, irq, checked((uint)(ring / LguestAbi.PageSize)));
        Span<byte> vqconfig = Page.Slice(at, LguestAbi.VirtqueueConfigSize);
        BinaryPrimitives.WriteUInt16LittleEndian(vqconfig[0..2], queue.Size);
        BinaryPrimitives.WriteUInt16LittleEndian(vqconfig[2..4], queue.Irq);
        BinaryPrimitives.WriteUInt32LittleEndian(vqconfig[4..8], queue.Pfn);
        _virtqueues.Add(queue);
        Page[Offset + LguestAbi.DescriptorNumVqOffset] = (byte)_virtqueues.Count;
        return queue;
    }

    /// <summary>
    /// Offers feature <paramref name="bit"/>. The first half of the feature bytes is ours, the second the guest's
    /// answer; both grow together, which is why config must wait until features are done.
    /// </summary>
    public void AddFeature(int bit)
    {
        EnsureLast("add a feature");
        if ((uint)bit >= LguestAbi.MaxFeatureBits)
        {
            throw new ArgumentOutOfRangeException(nameof(bit), bit, $"the guest's lguest driver reads only {LguestAbi.MaxFeatureBits} feature bits");
        }
        if (_configSet)
        {
            throw new InvalidOperationException($"{Name}: features must be added before config");
        }
        int needed = bit / 8 + 1;
        if (needed > FeatureLength)
        {
            // The acknowledged half moves up; it is all zero before the guest runs, so growing in place is safe.
            LguestBus.EnsureFits(FeaturesOffset, 2 * needed);
            FeatureLength = needed;
            Page[Offset + LguestAbi.DescriptorFeatureLenOffset] = (byte)needed;
        }
        Page[FeaturesOffset + bit / 8] |= (byte)(1 << (bit % 8));
    }

    /// <summary>
    /// Sets the config bytes, which end the record. May be set again (the record is still the last one); a shorter
    /// config leaves zeroes behind so the next descriptor slot still reads as the end of the page.
    /// </summary>
    public void SetConfig(ReadOnlySpan<byte> config)
    {
        EnsureLast("set config");
        if (config.Length > LguestAbi.MaxConfigLength)
        {
            throw new ArgumentOutOfRangeException(nameof(config), config.Length, $"config_len is 8 bits: at most {LguestAbi.MaxConfigLength} bytes");
        }
        LguestBus.EnsureFits(ConfigOffset, config.Length);
        Span<byte> page = Page;
        page.Slice(ConfigOffset, ConfigLength).Clear();
        config.CopyTo(page[ConfigOffset..]);
        ConfigLength = config.Length;
        page[Offset + LguestAbi.DescriptorConfigLenOffset] = (byte)config.Length;
        _configSet = true;
    }

    /// <summary>Forgets what the guest acknowledged, as a device reset must.</summary>
    public void ResetAcknowledgedFeatures() => Page.Slice(FeaturesOffset + FeatureLength, FeatureLength).Clear();

    private ulong ReadBits(int offset)
    {
        ReadOnlySpan<byte> bytes = Page.Slice(offset, FeatureLength);
        ulong bits = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            bits |= (ulong)bytes[i] << (8 * i);
        }
        return bits;
    }

    private void EnsureLast(string action)
    {
        if (!_bus.IsLast(this))
        {
            throw new InvalidOperationException($"{Name}: cannot {action} once a later device follows it on the bus");
        }
    }
}
