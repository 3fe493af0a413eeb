using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Lguest.DeviceTestKit.VhostUser;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Bench;

/// <summary>
/// A virtio-blk driver on one vhost-user connection, doing what Linux's virtio_blk does per request: a chain of
/// header, data and status; a kick when the back end wants one; sleep on the call eventfd; collect used entries.
/// Latency is per request, from publishing the chain to collecting it. With several rings each is driven by a
/// thread of its own, as a multiqueue guest submits from each vCPU.
/// </summary>
internal sealed class BlockLoadGenerator : IDisposable
{
    private const ulong MemoryBytes = 64UL << 20;
    private const ulong RingArea = 0x10000;
    private const ulong RingStride = 0x8000;
    private const ushort RingSize = 128;
    private const ulong SlotArea = 0x200000;
    private const ulong SlotStride = 0x11000; // header and status in the first page, up to 64 KiB of data after it
    private const int SlotsPerRing = 32;
    private const uint TypeIn = 0;
    private const uint TypeOut = 1;
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(10);

    private readonly VhostUserGuest _guest;
    private readonly RingLoad[] _rings;
    private readonly ulong _sectors;

    public BlockLoadGenerator(string socket, ulong fileBytes, int queues = 1)
    {
        _guest = Connect(socket);
        // EVENT_IDX as Linux guests negotiate it; VERSION_1 for the modern header layout both back ends speak.
        _guest.Negotiate(VhostUserFeatures.Version1 | (1UL << SplitRingSpec.FeatureEventIndex), VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.MultiQueue);
        ulong capacity = BinaryPrimitives.ReadUInt64LittleEndian(_guest.ReadConfig(8));
        if (capacity * 512 != fileBytes)
        {
            throw new InvalidOperationException($"{socket} reports {capacity} sectors, the image has {fileBytes / 512}");
        }
        _sectors = capacity;
        _guest.SendMemoryTable();
        _rings = [.. Enumerable.Range(0, queues).Select(i => new RingLoad(this, i))];
    }

    /// <summary>
    /// Runs <paramref name="workload"/> for <paramref name="duration"/> on its rings; latencies go to
    /// <paramref name="latencies"/> (ticks). Returns the requests completed on all rings together.
    /// </summary>
    public long Run(BlockWorkload workload, TimeSpan duration, List<long> latencies)
    {
        latencies.Clear();
        if (workload.Queues == 1)
        {
            return _rings[0].Run(workload, duration, latencies);
        }
        var perRing = new List<long>[workload.Queues];
        long[] requests = new long[workload.Queues];
        Exception? failure = null;
        var threads = Enumerable.Range(0, workload.Queues).Select(i => new Thread(() =>
        {
            perRing[i] = new List<long>(1 << 18);
            try
            {
                requests[i] = _rings[i].Run(workload, duration, perRing[i]);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { Name = $"front end ring {i}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (failure is not null)
        {
            throw new InvalidOperationException($"{workload.Name}: a ring's driver failed", failure);
        }
        foreach (List<long> ring in perRing)
        {
            latencies.AddRange(ring);
        }
        return requests.Sum();
    }

    /// <summary>
    /// Proves the numbers are real I/O before any are taken: reads through the back end match the file, and a
    /// write through it lands in the file. Throws on a mismatch.
    /// </summary>
    public void Verify(string image) => _rings[0].Verify(image);

    public void Dispose() => _guest.Dispose();

    /// <summary>The socket file appears at bind, a moment before listen: a refused connect is retried briefly.</summary>
    private static VhostUserGuest Connect(string socket)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new VhostUserGuest(socket, MemoryBytes);
            }
            catch (Exception e) when ((e is SystemCallException or SocketException) && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(10);
            }
        }
    }

    /// <summary>One ring's driver: its slots, its kicks and its call eventfd; used by one thread at a time.</summary>
    private sealed class RingLoad
    {
        private readonly BlockLoadGenerator _owner;
        private readonly int _index;
        private readonly SplitRingDriver _ring;
        private readonly EventFd _call;
        private readonly int[] _slotOfHead = new int[RingSize];
        private readonly long[] _submittedAt = new long[SlotsPerRing];
        private readonly Random _random;
        private ulong _nextSequential;

        public RingLoad(BlockLoadGenerator owner, int index)
        {
            _owner = owner;
            _index = index;
            _random = new Random(42 + index);
            (_ring, _call) = owner._guest.StartRing(index, RingArea + ((ulong)index * RingStride), RingSize);
        }

        private VhostUserGuest Guest => _owner._guest;

        public long Run(BlockWorkload workload, TimeSpan duration, List<long> latencies)
        {
            long requests = 0;
            int inFlight = 0;
            long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            for (int slot = 0; slot < workload.QueueDepth; slot++)
            {
                Submit(workload, slot);
                inFlight++;
            }
            KickIfNeeded();
            bool stopping = false;
            while (inFlight > 0)
            {
                stopping |= Stopwatch.GetTimestamp() >= end;
                int collected = 0;
                while (_ring.TryGetUsed(out ushort head, out _))
                {
                    long now = Stopwatch.GetTimestamp();
                    int slot = _slotOfHead[head];
                    latencies.Add(now - _submittedAt[slot]);
                    byte status = Guest.Memory.Read<byte>(SlotAddress(slot) + 16);
                    if (status != 0)
                    {
                        throw new InvalidOperationException($"{workload.Name}: request failed with virtio-blk status {status}");
                    }
                    collected++;
                    requests++;
                    inFlight--;
                    if (!stopping)
                    {
                        Submit(workload, slot);
                        inFlight++;
                    }
                }
                if (collected > 0)
                {
                    KickIfNeeded();
                    continue;
                }
                // Nothing used yet: sleep until the back end calls. A call that came while we were collecting left the
                // counter set, so this returns at once rather than missing it.
                if (!Poll.WaitReadable(_call.Descriptor, Stall))
                {
                    throw new TimeoutException($"{workload.Name}: no completion for {Stall} with {inFlight} requests in flight");
                }
                _ = _call.Drain();
            }
            return requests;
        }

        public void Verify(string image)
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(image);
            byte[] expected = new byte[4096];
            byte[] actual = new byte[4096];
            foreach (ulong sector in (ulong[])[0, 8, 4096, _owner._sectors - 8])
            {
                Single(write: false, sector);
                Guest.Memory.Read(SlotAddress(0) + 0x1000, actual);
                RandomAccess.Read(file, expected, (long)sector * 512);
                if (!expected.AsSpan().SequenceEqual(actual))
                {
                    throw new InvalidDataException($"sector {sector} read through the back end differs from the file");
                }
            }
            byte[] marker = new byte[4096];
            new Random(11).NextBytes(marker);
            Guest.Memory.Write(SlotAddress(0) + 0x1000, marker);
            Single(write: true, 16);
            RandomAccess.Read(file, actual, 16 * 512);
            if (!marker.AsSpan().SequenceEqual(actual))
            {
                throw new InvalidDataException("a write through the back end did not reach the file");
            }
        }

        private void Single(bool write, ulong sector)
        {
            ulong header = SlotAddress(0);
            Guest.Memory.Write(header, write ? TypeOut : TypeIn);
            Guest.Memory.Write(header + 4, 0u);
            Guest.Memory.Write(header + 8, sector);
            Guest.Memory.Write(header + 16, (byte)0xff);
            _ = _ring.AddBuffer([
                new DriverBuffer(header, 16, DeviceWritable: false),
                new DriverBuffer(header + 0x1000, 4096, DeviceWritable: !write),
                new DriverBuffer(header + 16, 1, DeviceWritable: true),
            ]);
            KickIfNeeded();
            while (!_ring.TryGetUsed(out _, out _))
            {
                if (!Poll.WaitReadable(_call.Descriptor, Stall))
                {
                    throw new TimeoutException("no completion while verifying");
                }
                _ = _call.Drain();
            }
            byte status = Guest.Memory.Read<byte>(header + 16);
            if (status != 0)
            {
                throw new InvalidOperationException($"verifying: request failed with virtio-blk status {status}");
            }
        }

        private ulong SlotAddress(int slot) => SlotArea + ((ulong)((_index * SlotsPerRing) + slot) * SlotStride);

        private void Submit(BlockWorkload workload, int slot)
        {
            ulong blockSectors = (ulong)workload.BlockSize / 512;
            ulong blocks = _owner._sectors / blockSectors;
            ulong sector;
            if (workload.Random)
            {
                sector = (ulong)_random.NextInt64((long)blocks) * blockSectors;
            }
            else
            {
                sector = _nextSequential % blocks * blockSectors;
                _nextSequential++;
            }
            ulong header = SlotAddress(slot);
            _submittedAt[slot] = Stopwatch.GetTimestamp();
            Guest.Memory.Write(header, workload.Write ? TypeOut : TypeIn);
            Guest.Memory.Write(header + 4, 0u);
            Guest.Memory.Write(header + 8, sector);
            Guest.Memory.Write(header + 16, (byte)0xff);
            ushort head = _ring.AddBuffer([
                new DriverBuffer(header, 16, DeviceWritable: false),
                new DriverBuffer(header + 0x1000, (uint)workload.BlockSize, DeviceWritable: !workload.Write),
                new DriverBuffer(header + 16, 1, DeviceWritable: true),
            ]);
            _slotOfHead[head] = slot;
        }

        private void KickIfNeeded()
        {
            if (_ring.KickNeeded())
            {
                Guest.Kick(_index);
            }
        }
    }
}
