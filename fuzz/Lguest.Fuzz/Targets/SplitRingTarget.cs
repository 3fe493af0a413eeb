using System.Buffers.Binary;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Fuzz.Targets;

/// <summary>
/// The split-ring chain walk over guest memory the input is: a 32-byte header (u16 queue size, u8 features, u8 pops,
/// u32 unused, u64 descriptor table, u64 avail ring, u64 used ring) and then the first bytes of a 64 KiB guest memory.
/// Every popped chain must lie inside guest memory and be handed back; the queue may only refuse with
/// <see cref="VirtqueueException"/>.
/// </summary>
internal sealed class SplitRingTarget : IFuzzTarget
{
    private const int HeaderSize = 32;
    private const ulong MemorySize = 64 * 1024;
    private static readonly Lazy<GuestMemory> SharedMemory = new(() => GuestMemory.CreateFlat(MemorySize));
    private readonly DescriptorChain _chain = new();
    private readonly IoVector[] _vectors = new IoVector[64];
    private readonly byte[] _scratch = new byte[256];

    public string Name => "ring";

    public int Progress { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < HeaderSize)
        {
            return;
        }
        var layout = new SplitQueueLayout(
            BinaryPrimitives.ReadUInt16LittleEndian(input),
            BinaryPrimitives.ReadUInt64LittleEndian(input[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(input[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(input[24..]));
        var features = (VirtqueueFeatures)(input[2] & 3);
        int pops = input[3];
        Progress = 0;
        GuestMemory memory = SharedMemory.Value;
        memory.Clear(0, MemorySize);
        ReadOnlySpan<byte> image = input[HeaderSize..];
        memory.Write(0, image[..(int)Math.Min((ulong)image.Length, MemorySize)]);
        try
        {
            Walk(memory, layout, features, pops);
        }
        catch (VirtqueueException)
        {
            // A hostile ring refused: the device stops, the launcher lives.
        }
    }

    public IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        yield return ("two-chains", TwoChains(indirect: false));
        yield return ("indirect", TwoChains(indirect: true));
    }

    private void Walk(GuestMemory memory, SplitQueueLayout layout, VirtqueueFeatures features, int pops)
    {
        var queue = new SplitQueue(memory, layout, features);
        for (int i = 0; i <= pops; i++)
        {
            if (!queue.TryPop(_chain))
            {
                break;
            }
            CheckChain(memory, queue);
            uint written = MoveData(memory);
            queue.AddUsed(_chain.HeadIndex, written);
            Progress++;
            _ = queue.NeedsNotification();
            if ((i & 1) == 1)
            {
                _ = queue.EnableNotifications();
            }
        }
    }

    /// <summary>
    /// What a device does with a chain, through the reader and writer every handler uses: a header out, the rest as
    /// iovecs, data in with a status byte split off the end. Neither may step outside the chain.
    /// </summary>
    private uint MoveData(GuestMemory memory)
    {
        var reader = new ChainReader(_chain, memory);
        int read = reader.Read(_scratch);
        _ = reader.ConsumeIoVectors(_vectors);
        if ((ulong)read > _chain.ReadableBytes)
        {
            throw new FuzzInvariantException($"read {read} bytes from a chain of {_chain.ReadableBytes} readable");
        }
        var writer = new ChainWriter(_chain, memory);
        ChainWriter status = writer.SplitOffTail(Math.Min(writer.Available, 1));
        writer.Write(_scratch.AsSpan(0, read));
        status.TryWriteObject((byte)0);
        if (writer.BytesWritten > _chain.WritableBytes)
        {
            throw new FuzzInvariantException($"wrote {writer.BytesWritten} bytes into a chain of {_chain.WritableBytes} writable");
        }
        return (uint)writer.BytesWritten;
    }

    /// <summary>What a device relies on after a pop: every buffer is inside memory and readable come before writable.</summary>
    private void CheckChain(GuestMemory memory, SplitQueue queue)
    {
        if (_chain.HeadIndex >= queue.Size)
        {
            throw new FuzzInvariantException($"head {_chain.HeadIndex} outside queue of {queue.Size}");
        }
        ulong readable = 0;
        ulong writable = 0;
        bool seenWritable = false;
        foreach (ChainBuffer buffer in _chain.Buffers)
        {
            if (!memory.Contains(buffer.Address, buffer.Length))
            {
                throw new FuzzInvariantException($"buffer 0x{buffer.Address:x}+{buffer.Length} is outside guest memory");
            }
            if (buffer.Writable)
            {
                seenWritable = true;
                writable += buffer.Length;
            }
            else if (seenWritable)
            {
                throw new FuzzInvariantException("a readable buffer follows a writable one");
            }
            else
            {
                readable += buffer.Length;
            }
        }
        if (readable != _chain.ReadableBytes || writable != _chain.WritableBytes)
        {
            throw new FuzzInvariantException($"chain totals {_chain.ReadableBytes}/{_chain.WritableBytes} differ from its buffers {readable}/{writable}");
        }
    }

    /// <summary>
    /// A size-8 ring at 0/0x100/0x200 with a read+write chain and a single-buffer chain (or one indirect table), offered
    /// by the TestKit's driver (written from the spec, not from the device side under test) and copied out of its
    /// memory.
    /// </summary>
    private static byte[] TwoChains(bool indirect)
    {
        const int SeedMemory = 0x1000;
        var ring = new SplitRingAddresses(8, 0, 0x100, 0x200);
        byte[] input = new byte[HeaderSize + SeedMemory];
        BinaryPrimitives.WriteUInt16LittleEndian(input, ring.Size);
        // Header byte 2 is the device's queue features: bit 0 indirect descriptors, bit 1 EVENT_IDX.
        input[2] = (byte)(indirect ? 1 : 0);
        input[3] = 4;
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(8), ring.Descriptors);
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(16), ring.Avail);
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(24), ring.Used);
        using GuestMemory memory = GuestMemory.CreateFlat(SeedMemory);
        var driver = new SplitRingDriver(memory, ring, indirect ? 1UL << SplitRingSpec.FeatureIndirectDescriptors : 0);
        DriverBuffer[] request = [new(0x800, 16, DeviceWritable: false), new(0x900, 64, DeviceWritable: true)];
        if (indirect)
        {
            driver.AddIndirectBuffer(request, tableAddress: 0x400);
        }
        else
        {
            driver.AddBuffer(request);
            driver.AddBuffer([new DriverBuffer(0xa00, 8, DeviceWritable: false)]);
        }
        memory.Read(0, input.AsSpan(HeaderSize));
        return input;
    }
}
