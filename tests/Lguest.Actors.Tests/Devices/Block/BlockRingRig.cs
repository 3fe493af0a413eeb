using System.Buffers.Binary;
using System.Diagnostics;
using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Queues;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Block;

/// <summary>
/// A block device over a scratch file, served by a real queue actor on its eventfd thread, with the guest's side of
/// one ring in flat memory: the driver puts requests in, kicks, and reads the used ring and status bytes back. The
/// device's io_uring comes from <paramref name="openWriteRing"/>, so a test can see the writes it started, or take
/// the path of a host without io_uring.
/// </summary>
internal sealed class BlockRingRig : IDisposable
{
    public const int SectorsPerWrite = 8;
    public const int WriteBytes = SectorsPerWrite * BlockProtocol.SectorSize;
    public const ushort RingSize = 256;

    private const ulong RingAddress = 0x10000;
    private const ulong HeaderArea = 0x20000;
    private const ulong StatusArea = 0x30000;
    private const ulong DataArea = 0x100000;

    private readonly SplitQueueLayout _layout = SplitQueueLayout.Legacy(RingAddress, RingSize, 4096);
    private readonly EventFd _kick = EventFd.Create(nonBlocking: true);
    private readonly SplitRingDriver _driver;
    private readonly Dictionary<ushort, int> _requestOfHead = [];
    private int _requests;

    public BlockRingRig(int diskBytes, bool withRing = true, Action<FileDescriptor>? flush = null)
    {
        File = new TempFile(new byte[diskBytes]);
        Memory = GuestMemory.CreateFlat(DataArea + (ulong)RingSize * WriteBytes);
        _driver = new SplitRingDriver(Memory, SplitRingSpec.LegacyLayout(RingAddress, RingSize), negotiatedFeatures: 0);
        Device = new BlockDevice(new BlockSettings(File.Path, ReadOnly: false), NoLogger.Instance, flush ?? (_ => { }), withRing ? OpenRing : () => null);
        Handler = Device.Queues[0].CreateHandler!();
    }

    public TempFile File { get; }

    public GuestMemory Memory { get; }

    public BlockDevice Device { get; }

    public IQueueHandler Handler { get; }

    /// <summary>The ring the device opened, when it had one.</summary>
    public BlockWriteRing? WriteRing { get; private set; }

    public CountingInterrupt Interrupt { get; } = new();

    public QueueWiring Wiring() => new(0, "requests", Memory, _layout, VirtqueueFeatures.None, EventFd.Adopt(_kick.Descriptor.Duplicate()), Interrupt);

    /// <summary>Offers a write of <see cref="WriteBytes"/> of <paramref name="data"/> at <paramref name="sector"/>; returns the request's number.</summary>
    public int OfferWrite(ulong sector, byte[] data)
    {
        int request = _requests++;
        ulong buffer = DataArea + (ulong)(request % RingSize) * WriteBytes;
        Memory.Write(buffer, data);
        return Offer(request, BlockProtocol.TypeOut, sector, [new DriverBuffer(buffer, (uint)data.Length, DeviceWritable: false)]);
    }

    /// <summary>Offers a request with no data (FLUSH), or GET_ID with a 20-byte buffer.</summary>
    public int OfferSimple(uint type)
    {
        int request = _requests++;
        DriverBuffer[] data = type == BlockProtocol.TypeGetId
            ? [new DriverBuffer(DataArea + (ulong)(request % RingSize) * WriteBytes, BlockProtocol.IdSize, DeviceWritable: true)]
            : [];
        return Offer(request, type, 0, data);
    }

    public void Kick() => _kick.Signal();

    /// <summary>Waits (a generous bound: the machine may be loaded) for <paramref name="count"/> used entries; returns them in used-ring order.</summary>
    public List<(int Request, uint Length)> WaitForUsed(int count)
    {
        var used = new List<(int, uint)>();
        var deadline = Stopwatch.StartNew();
        while (used.Count < count)
        {
            if (_driver.TryGetUsed(out ushort head, out uint length))
            {
                used.Add((_requestOfHead[head], length));
                continue;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"only {used.Count} of {count} requests completed");
            Thread.Sleep(1);
        }
        return used;
    }

    /// <summary>Used entries already published, without waiting.</summary>
    public List<(int Request, uint Length)> CollectUsed()
    {
        var used = new List<(int, uint)>();
        while (_driver.TryGetUsed(out ushort head, out uint length))
        {
            used.Add((_requestOfHead[head], length));
        }
        return used;
    }

    public byte Status(int request) => Memory.Read<byte>(StatusArea + (ulong)(request % RingSize));

    public byte[] Disk(long offset, int length) => System.IO.File.ReadAllBytes(File.Path).AsSpan((int)offset, length).ToArray();

    public void Dispose()
    {
        Handler.Dispose();
        Device.Dispose();
        _kick.Dispose();
        Memory.Dispose();
        File.Dispose();
    }

    private int Offer(int request, uint type, ulong sector, DriverBuffer[] data)
    {
        ulong header = HeaderArea + (ulong)(request % RingSize) * BlockProtocol.HeaderSize;
        var bytes = new byte[BlockProtocol.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sector);
        Memory.Write(header, bytes);
        ulong status = StatusArea + (ulong)(request % RingSize);
        Memory.Write(status, (byte)0xff);
        DriverBuffer[] chain = [new DriverBuffer(header, BlockProtocol.HeaderSize, DeviceWritable: false), .. data, new DriverBuffer(status, 1, DeviceWritable: true)];
        ushort head = _driver.AddBuffer(chain);
        _requestOfHead[head] = request;
        return request;
    }

    private BlockWriteRing? OpenRing()
    {
        WriteRing = new BlockWriteRing(IoUring.Create(BlockDevice.QueueSize), BlockDevice.QueueSize);
        return WriteRing;
    }

    internal sealed class CountingInterrupt : IInterruptLine
    {
        private int _raised;

        public int Raised => Volatile.Read(ref _raised);

        public void Raise() => Interlocked.Increment(ref _raised);
    }
}
