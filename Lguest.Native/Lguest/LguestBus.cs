using Lguest.Native.Memory;

namespace Lguest.Native.Lguest;

/// <summary>
/// The lguest bus as the guest finds it: one page just above its RAM listing every device, with each queue's
/// ring pages handed out after it. The guest's driver walks the page at boot, so everything here is written
/// byte-exact to lguest_launcher.h, in the order devices were added (the first block device on the command line
/// must be /dev/vda).
///
/// Devices are built one at a time, each finished (queues, then features, then config) before the next is
/// added, because each descriptor's size depends on all of those and the next one starts where it ends.
/// Not thread-safe: the bus is built before the guest runs.
/// </summary>
public sealed class LguestBus
{
    private readonly GuestMemory _memory;
    private readonly List<LguestDevice> _devices = [];
    private readonly ulong _maximum;
    private ulong _limit;
    private int _nextIrq = LguestAbi.FirstDeviceIrq;

    /// <summary>
    /// <paramref name="memory"/> must hold guest RAM (<paramref name="memorySize"/> bytes from 0) and
    /// <see cref="LguestAbi.DEVICE_PAGES"/> more pages above it, as the launcher maps them.
    /// </summary>
    public LguestBus(GuestMemory memory, ulong memorySize)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (memorySize == 0 || memorySize % LguestAbi.PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(memorySize), memorySize, $"guest RAM must be a non-zero multiple of {LguestAbi.PageSize} bytes");
        }
        const ulong devicePagesBytes = (ulong)LguestAbi.DEVICE_PAGES * LguestAbi.PageSize;
        if (memorySize > ulong.MaxValue - devicePagesBytes || !memory.Contains(memorySize, devicePagesBytes))
        {
            throw new ArgumentException(
                $"guest memory must extend {LguestAbi.DEVICE_PAGES} pages past guest RAM (0x{memorySize:x}) for the device page and rings",
                nameof(memory));
        }
        _memory = memory;
        MemorySize = memorySize;
        _limit = memorySize;
        _maximum = memorySize + devicePagesBytes;
        DevicePageAddress = AllocatePages(1);
    }

    /// <summary>Bytes of guest RAM, below the device page.</summary>
    public ulong MemorySize { get; }

    /// <summary>Guest-physical address of the device page: the first page above RAM.</summary>
    public ulong DevicePageAddress { get; }

    /// <summary>One past the last page in use (RAM, device page and rings): the limit the host enforces.</summary>
    public ulong GuestLimit => _limit;

    /// <summary><see cref="GuestLimit"/> in pages, as LHREQ_INITIALIZE wants it.</summary>
    public ulong PageLimit => _limit / LguestAbi.PageSize;

    public IReadOnlyList<LguestDevice> Devices => _devices;

    /// <summary>Every queue on the bus, in the order they were added.</summary>
    public IEnumerable<(LguestDevice Device, LguestVirtqueueInfo Queue)> Virtqueues
        => _devices.SelectMany(d => d.Virtqueues.Select(q => (d, q)));

    internal GuestMemory Memory => _memory;

    /// <summary>
    /// Appends a device of <paramref name="type"/> (a virtio device id) to the page. Fails with "Too many devices"
    /// when not even its bare descriptor fits.
    /// </summary>
    public LguestDevice AddDevice(byte type, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (type == LguestAbi.EndOfDevices)
        {
            throw new ArgumentOutOfRangeException(nameof(type), "device type 0 marks the end of the device page");
        }
        int offset = _devices.Count == 0 ? 0 : _devices[^1].EndOffset;
        EnsureFits(offset, LguestAbi.DeviceDescriptorSize);
        var device = new LguestDevice(this, _devices.Count, type, name, offset);
        _devices.Add(device);
        return device;
    }

    /// <summary>The device whose descriptor is at <paramref name="address"/>: a NOTIFY there is a status change.</summary>
    public LguestDevice? FindDevice(ulong descriptorAddress)
    {
        foreach (LguestDevice device in _devices)
        {
            if (device.DescriptorAddress == descriptorAddress)
            {
                return device;
            }
        }
        return null;
    }

    internal bool IsLast(LguestDevice device) => _devices.Count != 0 && ReferenceEquals(_devices[^1], device);

    /// <summary>The device page must hold every descriptor; there is only the one page.</summary>
    internal static void EnsureFits(int offset, int length)
    {
        if ((long)offset + length > LguestAbi.PageSize)
        {
            throw new InvalidOperationException($"Too many devices: the device page is full ({offset} + {length} bytes > {LguestAbi.PageSize})");
        }
    }

    /// <summary>Claims the next interrupt line for a queue; line 0 is the timer's.</summary>
    internal ushort PeekIrq()
    {
        if (_nextIrq >= LguestAbi.IrqLines)
        {
            throw new InvalidOperationException(
                $"too many virtqueues for {LguestAbi.IrqLines} interrupt lines: at most {LguestAbi.MaxVirtqueues} queues in all");
        }
        return (ushort)_nextIrq;
    }

    internal void TakeIrq() => _nextIrq++;

    /// <summary>Checks that <paramref name="pages"/> more pages fit below the end of the device area.</summary>
    internal void EnsurePages(ulong pages)
    {
        if (pages > (_maximum - _limit) / LguestAbi.PageSize)
        {
            throw new InvalidOperationException(
                $"Not enough memory for devices: {pages} pages wanted, {(_maximum - _limit) / LguestAbi.PageSize} of {LguestAbi.DEVICE_PAGES} left");
        }
    }

    /// <summary>
    /// Hands out pages from just above what is in use. They are zeroed: the guest expects a fresh ring and an empty
    /// device page, which a reused mapping would not give.
    /// </summary>
    internal ulong AllocatePages(ulong pages)
    {
        EnsurePages(pages);
        ulong address = _limit;
        _memory.Clear(address, pages * LguestAbi.PageSize);
        _limit += pages * LguestAbi.PageSize;
        return address;
    }
}
