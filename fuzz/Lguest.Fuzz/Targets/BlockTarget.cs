using System.Buffers.Binary;
using Akka.Event;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Metrics;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;
using Microsoft.Win32.SafeHandles;

namespace Lguest.Fuzz.Targets;

/// <summary>
/// The block request handler against a shadow model of a 16-sector disk. The input is 8-byte requests: type (0 in,
/// 1 out, 2 flush, 3 get-id, anything else sent as is), sector, u16 data length, data descriptor count (1-4), status
/// descriptor length (0-3), fill byte, flags (bit 0: the header split over two descriptors). Each is offered on a real
/// ring by the TestKit's driver (written from the spec, so the device's reading of the ring is checked, not mirrored)
/// and drained; it must complete exactly once with the status and data the model predicts, and the file must
/// equal the model at the end. A request the guest got wrong may only be refused with <see cref="GuestRequestException"/>.
/// </summary>
internal sealed class BlockTarget : IFuzzTarget, IDisposable
{
    private const int Sectors = 16;
    private const int DiskBytes = Sectors * BlockProtocol.SectorSize;
    private const ulong MemorySize = 64 * 1024;
    private const ulong HeaderAt = 0x800;
    private const ulong DataAt = 0x1000;
    private const int MaxData = 0x8000;
    private static readonly SplitQueueLayout Layout = new(16, 0, 0x100, 0x200);
    private static readonly SplitRingAddresses DriverRing = new(16, 0, 0x100, 0x200);
    private static readonly Lazy<GuestMemory> SharedMemory = new(() => GuestMemory.CreateFlat(MemorySize));
    private readonly byte[] _file = new byte[DiskBytes];
    private (BlockDisk Disk, BlockRequestHandler Handler, SafeFileHandle Check)? _device;
    private readonly byte[] _model = new byte[DiskBytes];
    private readonly DescriptorChain _chain = new();

    public string Name => "block";

    public int Progress { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        Progress = 0;
        Array.Clear(_model);
        (_, BlockRequestHandler handler, SafeFileHandle check) = _device ??= OpenDisk();
        RandomAccess.Write(check, _model, 0);
        GuestMemory memory = SharedMemory.Value;
        memory.Clear(0, MemorySize);
        var queue = new SplitQueue(memory, Layout, VirtqueueFeatures.None);
        var driver = new SplitRingDriver(memory, DriverRing, negotiatedFeatures: 0);
        ushort slot = 0;
        try
        {
            for (; input.Length >= 8; input = input[8..], slot++)
            {
                ushort head = Offer(memory, driver, input[..8]);
                DrainResult result = QueueDrainer.Drain(handler, queue, _chain, 4);
                if (result != DrainResult.RingEmpty)
                {
                    throw new FuzzInvariantException($"one request left the ring {result}");
                }
                Check(memory, driver, input[..8], slot, head);
                Progress++;
            }
        }
        catch (GuestRequestException)
        {
            // A request with no header or no status byte: the guest's fault, the device reports it.
        }
        CheckFile(check);
    }

    public void Dispose()
    {
        if (_device is (BlockDisk disk, BlockRequestHandler handler, SafeFileHandle check))
        {
            handler.Dispose();
            disk.Dispose();
            check.Dispose();
            _device = null;
        }
    }

    public IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        yield return ("write-then-read", [1, 2, 0x00, 0x04, 2, 1, 0x5a, 0, 0, 2, 0x00, 0x04, 1, 1, 0, 1]);
        yield return ("flush-getid-unknown", [2, 0, 0, 0, 1, 1, 0, 0, 3, 0, 20, 0, 1, 1, 0, 0, 9, 0, 0, 0, 1, 1, 0, 0]);
        yield return ("past-the-end", [0, 15, 0x00, 0x04, 1, 1, 0, 0, 1, 16, 0x00, 0x02, 1, 1, 7, 0]);
    }

    private static (uint Type, ulong Sector, int DataLength, int DataParts, int StatusLength, byte Fill, bool SplitHeader) Parse(ReadOnlySpan<byte> r)
        => (r[0] switch { 0 => BlockProtocol.TypeIn, 1 => BlockProtocol.TypeOut, 2 => BlockProtocol.TypeFlush, 3 => BlockProtocol.TypeGetId, _ => r[0] },
            r[1], Math.Min((int)BinaryPrimitives.ReadUInt16LittleEndian(r[2..]), MaxData), 1 + (r[4] & 3), r[5] & 3, r[6], (r[7] & 1) != 0);

    /// <summary>Lays the request out as a driver would: header, data, status, and publishes it; returns its head.</summary>
    private static ushort Offer(GuestMemory memory, SplitRingDriver driver, ReadOnlySpan<byte> record)
    {
        var r = Parse(record);
        byte[] header = new byte[BlockProtocol.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, r.Type);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), r.Sector);
        memory.Write(HeaderAt, header);
        byte[] data = new byte[r.DataLength];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(r.Fill + i);
        }
        memory.Write(DataAt, data);
        memory.Clear(DataAt + (ulong)MaxData, 4);

        bool dataWritable = r.Type != BlockProtocol.TypeOut;
        var parts = new List<DriverBuffer>();
        if (r.SplitHeader)
        {
            parts.Add(new DriverBuffer(HeaderAt, 5, DeviceWritable: false));
            parts.Add(new DriverBuffer(HeaderAt + 5, BlockProtocol.HeaderSize - 5, DeviceWritable: false));
        }
        else
        {
            parts.Add(new DriverBuffer(HeaderAt, BlockProtocol.HeaderSize, DeviceWritable: false));
        }
        if (r.DataLength > 0)
        {
            int chunk = (r.DataLength + r.DataParts - 1) / r.DataParts;
            for (int at = 0; at < r.DataLength; at += chunk)
            {
                parts.Add(new DriverBuffer(DataAt + (ulong)at, (uint)Math.Min(chunk, r.DataLength - at), dataWritable));
            }
        }
        if (r.StatusLength > 0)
        {
            parts.Add(new DriverBuffer(DataAt + (ulong)MaxData, (uint)r.StatusLength, DeviceWritable: true));
        }
        return driver.AddBuffer(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(parts));
    }

    /// <summary>What the model says this request must have done, compared with the used ring and guest memory.</summary>
    private void Check(GuestMemory memory, SplitRingDriver driver, ReadOnlySpan<byte> record, ushort slot, ushort head)
    {
        var r = Parse(record);
        int completions = driver.PendingUsed;
        ushort id;
        uint usedLength;
        try
        {
            if (completions != 1 || !driver.TryGetUsed(out id, out usedLength) || id != head)
            {
                throw new FuzzInvariantException($"request {slot}: {completions} completions for head {head}: not completed exactly once");
            }
        }
        catch (InvalidOperationException e)
        {
            // The driver refuses a used id that is not a buffer in flight: the device completed something never offered.
            throw new FuzzInvariantException($"request {slot}: {e.Message}");
        }
        int writable = (r.Type == BlockProtocol.TypeOut ? 0 : r.DataLength) + r.StatusLength;
        // Everything but the last writable byte is data; the status is that last byte.
        byte[] written = new byte[writable];
        memory.Read(DataAt, written.AsSpan(0, writable - r.StatusLength));
        memory.Read(DataAt + (ulong)MaxData, written.AsSpan(writable - r.StatusLength));
        byte status = written[^1];
        ulong length = (ulong)writable - 1;
        (byte expected, uint expectedUsed) = r.Type switch
        {
            BlockProtocol.TypeIn => InRange(r.Sector, length) ? (BlockProtocol.StatusOk, (uint)length + 1) : (BlockProtocol.StatusIoError, 1u),
            BlockProtocol.TypeOut => InRange(r.Sector, (ulong)r.DataLength) ? (BlockProtocol.StatusOk, 1u) : (BlockProtocol.StatusIoError, 1u),
            BlockProtocol.TypeFlush => (BlockProtocol.StatusOk, 1u),
            BlockProtocol.TypeGetId => (BlockProtocol.StatusOk, (uint)Math.Min(BlockProtocol.IdSize, (int)length) + 1),
            _ => (BlockProtocol.StatusUnsupported, 1u),
        };
        if (status != expected || usedLength != expectedUsed)
        {
            throw new FuzzInvariantException($"request {slot} type {r.Type} sector {r.Sector}: status {status} used {usedLength}, model says {expected} used {expectedUsed}");
        }
        if (expected != BlockProtocol.StatusOk)
        {
            return;
        }
        int offset = (int)r.Sector * BlockProtocol.SectorSize;
        if (r.Type == BlockProtocol.TypeIn && !written.AsSpan(0, (int)length).SequenceEqual(_model.AsSpan(offset, (int)length)))
        {
            throw new FuzzInvariantException($"request {slot}: read of sector {r.Sector} differs from the model");
        }
        if (r.Type == BlockProtocol.TypeOut)
        {
            for (int i = 0; i < r.DataLength; i++)
            {
                _model[offset + i] = (byte)(r.Fill + i);
            }
        }
    }

    private static bool InRange(ulong sector, ulong length)
        => length % BlockProtocol.SectorSize == 0 && sector * BlockProtocol.SectorSize + length <= DiskBytes;

    /// <summary>
    /// One disk for the life of the process (opening it per input would halve the rate): the handler's and our own
    /// descriptor stay, the name goes at once so nothing is left in /tmp.
    /// </summary>
    private static (BlockDisk, BlockRequestHandler, SafeFileHandle) OpenDisk()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lguest-fuzz-{Environment.ProcessId}-disk");
        File.WriteAllBytes(path, new byte[DiskBytes]);
        var disk = new BlockDisk(path, readOnly: false, NoLogger.Instance, flush: _ => { });
        SafeFileHandle check = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        File.Delete(path);
        return (disk, new BlockRequestHandler(disk, new DeviceCounters("fuzz-block")), check);
    }

    private void CheckFile(SafeFileHandle check)
    {
        if (RandomAccess.Read(check, _file, 0) != DiskBytes || !_file.AsSpan().SequenceEqual(_model))
        {
            throw new FuzzInvariantException("the disk file differs from the model");
        }
    }
}
