using System.Buffers.Binary;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Launcher;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Bench;

/// <summary>
/// The whole path in this process: GuestLauncher.RunAsync with the simulated engine, whose guest program (this
/// class's) probes the block device with the simulated virtio_blk driver and then runs 4 KiB random reads and
/// writes at queue depth 1 and 32. Every request goes guest ring, kick (LHCALL_NOTIFY), kick watcher, virtqueue
/// actor, pread/pwrite on a page-cached file, used ring, interrupt through the engine, guest. As SimulatedGuestRig
/// in the actor tests does, but with the runtime's own reference.conf (its pinned dispatchers) and the product's
/// DeviceFactory, no test hooks.
/// </summary>
internal static class InProcessBenchmark
{
    private const ulong MemoryBytes = 64UL << 20;
    private const ulong KernelAddress = 0x100000;
    private const int Block = 4096;
    private const int HeaderSize = 16;
    private static readonly TimeSpan ExitBound = TimeSpan.FromMinutes(5);

    private static readonly BlockWorkload[] Workloads = BlockWorkload.All.Where(w => w.BlockSize == Block && w.Queues == 1 && w.QueueDepth != 8).ToArray();

    public static IEnumerable<ResultRow> Run(BenchOptions options, TestImages images, TextWriter log)
    {
        string kernel = Path.Combine(images.Directory, "inprocess-vmlinux");
        File.WriteAllBytes(kernel, HaltingKernel());
        var settings = new LauncherSettings(
            EngineKind.Simulated,
            MemoryBytes,
            kernel,
            Initrd: null,
            CommandLine: "console=hvc0",
            Verbose: false,
            Chroot: null,
            User: null,
            LguestDevice: "/dev/lguest",
            new SupervisionSettings(GuestErrorPolicy.KillLauncher, MaxRestarts: 0, TimeSpan.FromMinutes(1)),
            [new ConsoleSettings(), new BlockSettings(images.Main, ReadOnly: false)],
            new SimulatedSettings(TimeSpan.FromSeconds(10), string.Empty));

        var results = new List<(BlockWorkload Workload, BlockResult Result)>();
        Exception? failure = null;
        (FileDescriptor stdinReader, FileDescriptor stdin) = Pipe.Create();
        (FileDescriptor stdout, FileDescriptor stdoutWriter) = Pipe.Create();
        using (stdinReader)
        using (stdin)
        using (stdout)
        using (stdoutWriter)
        {
            // The runtime's reference.conf (pinned queue and run-loop dispatchers, as Lguest.Host runs), without the
            // launcher's info lines on stderr.
            ActorSystem system = ActorSystem.Create(
                "lguest-bench", ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(LauncherSettingsReader.Reference));
            try
            {
                var environment = new GuestEnvironment(
                    s => new SimulatedEngine(s.Simulated, hv =>
                    {
                        try
                        {
                            Guest(hv, s.Simulated.InterruptTimeout, images.Main, options, results, log);
                        }
                        catch (OperationCanceledException) when (hv.Stopping.IsCancellationRequested)
                        {
                            throw;
                        }
                        catch (Exception e)
                        {
                            failure = e;
                            hv.Panic($"bench guest failed: {e.GetType().Name}: {e.Message}");
                        }
                        hv.PowerOff();
                    }),
                    device => DeviceFactory.Create(device, stdinReader, stdoutWriter, system.Log),
                    stdinReader,
                    stdoutWriter);
                LauncherExit exit = GuestLauncher.RunAsync(system, settings, environment, default).WaitAsync(ExitBound).GetAwaiter().GetResult();
                if (failure is not null)
                {
                    throw new InvalidOperationException("the in-process guest failed", failure);
                }
                if (exit.ExitCode != LauncherExit.PoweredOff)
                {
                    throw new InvalidOperationException($"the in-process guest did not power off: {exit.ExitCode} {exit.Message}");
                }
            }
            finally
            {
                system.Terminate().Wait(TimeSpan.FromSeconds(10));
            }
        }
        foreach ((BlockWorkload workload, BlockResult r) in results)
        {
            yield return new ResultRow("inprocess", workload.Name, "ours, simulated guest")
            {
                Iops = r.Iops,
                MegabytesPerSecond = r.Iops * workload.BlockSize / 1e6,
                P50Microseconds = r.P50Microseconds,
                P99Microseconds = r.P99Microseconds,
                CpuSecondsPerMillion = r.CpuSeconds / r.Requests * 1e6,
            };
        }
    }

    /// <summary>
    /// The guest program: what SimulatedLinux does before its drivers bind (zero page, heap, bus walk), then the
    /// driver binds the block device and the workloads run on its queue. The simulated BlockDriver has one request
    /// buffer; depth 32 needs 32, so the requests are built here on the driver's queue (GuestVirtqueue), each slot
    /// with its own header, 4 KiB data page and status byte, as virtio_blk's per-request buffers are.
    /// </summary>
    private static void Guest(ISimulatedHypervisor hv, TimeSpan timeout, string image, BenchOptions options, List<(BlockWorkload, BlockResult)> results, TextWriter log)
    {
        BootInfo boot = BootInfo.Read(hv.Memory, hv.EntryPoint);
        var heap = new GuestPageAllocator(hv.Memory, WorkloadOptions.DefaultHeap, boot.RamSize);
        ProbedDevice device = LguestBusScanner.Scan(hv.Memory, boot.RamSize, hv.GuestLimit).First(d => d.Type == VirtioNumbers.DeviceBlock);
        var disk = new BlockDriver(hv, heap, device, timeout);
        if (disk.Capacity * BlockDriver.SectorSize != (ulong)TestImages.MainBytes)
        {
            throw new InvalidOperationException($"the block device has {disk.Capacity} sectors, the image {TestImages.MainBytes / BlockDriver.SectorSize}");
        }
        // A probe through the driver itself: the first 4 KiB must be the image's.
        var probe = disk.Read(0, Block / BlockDriver.SectorSize);
        byte[] expected = new byte[Block];
        using (var file = File.OpenRead(image))
        {
            file.ReadExactly(expected);
        }
        if (!probe.Ok || !probe.Data.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException($"reading sector 0 through the device gave status {probe.Status} or other bytes than the image's");
        }
        var ring = new GuestRing(hv, heap, disk.Queue, disk.Capacity);
        var latencies = new List<long>(1 << 20);
        foreach (BlockWorkload workload in Workloads)
        {
            int depth = Math.Min(workload.QueueDepth, disk.Queue.Size / 3);
            ring.Run(workload.Write, depth, options.MeasureFor / 4, latencies); // warm-up: JIT tiers, page cache
            ProcessStats before = ProcessStats.Read(Environment.ProcessId);
            var clock = Stopwatch.StartNew();
            long requests = ring.Run(workload.Write, depth, options.MeasureFor, latencies);
            clock.Stop();
            ProcessStats after = ProcessStats.Read(Environment.ProcessId);
            latencies.Sort();
            var result = new BlockResult(requests, clock.Elapsed, Percentile(latencies, 0.50), Percentile(latencies, 0.99),
                after.CpuSeconds - before.CpuSeconds, after.ContextSwitches - before.ContextSwitches);
            results.Add((workload, result));
            log.WriteLine($"{"inprocess",-30} {workload.Name,-18} {result.Iops,10:0} req/s  depth {depth}  process ctx switches/req {(double)result.ContextSwitches / requests:0.00}  threads {ProcessStats.Threads(Environment.ProcessId)}");
        }
    }

    private static double Percentile(List<long> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))] * 1e6 / Stopwatch.Frequency;

    /// <summary>A 32-bit ELF with one PT_LOAD at 1 MiB holding "hlt; jmp .-1": the simulated engine only loads it.</summary>
    private static byte[] HaltingKernel()
    {
        byte[] code = [0xF4, 0xEB, 0xFD];
        const int header = 52, entry = 32, offset = 96;
        byte[] image = new byte[offset + code.Length];
        Span<byte> h = image;
        "\u007fELF"u8.CopyTo(h);
        h[4] = 1; // ELFCLASS32
        h[5] = 1; // little-endian
        h[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 3); // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)KernelAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(h[40..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(h[42..], entry);
        BinaryPrimitives.WriteUInt16LittleEndian(h[44..], 1);
        Span<byte> p = h.Slice(header, entry);
        BinaryPrimitives.WriteUInt32LittleEndian(p, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(p[8..], (uint)KernelAddress + 0xc0000000);
        BinaryPrimitives.WriteUInt32LittleEndian(p[12..], (uint)KernelAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[16..], (uint)code.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(p[20..], 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(p[24..], 7);
        BinaryPrimitives.WriteUInt32LittleEndian(p[28..], 0x1000);
        code.CopyTo(image, offset);
        return image;
    }

    /// <summary>
    /// Up to <c>depth</c> requests in flight on the block device's queue: post them all, then, as each completion is
    /// collected, post another. Latency is per request, from adding its chain to collecting its used entry.
    /// </summary>
    private sealed class GuestRing
    {
        private const int Slots = 64;
        private readonly ISimulatedHypervisor _hv;
        private readonly GuestVirtqueue _queue;
        private readonly ulong _blocks;
        private readonly ulong[] _header = new ulong[Slots];
        private readonly ulong[] _data = new ulong[Slots];
        private readonly ulong[] _status = new ulong[Slots];
        private readonly long[] _submittedAt = new long[Slots];
        private readonly int[] _slotOfHead;
        private readonly DriverBuffer[] _chain = new DriverBuffer[3];
        private readonly Random _random = new(42);

        public GuestRing(ISimulatedHypervisor hv, GuestPageAllocator heap, GuestVirtqueue queue, ulong sectors)
        {
            _hv = hv;
            _queue = queue;
            _blocks = sectors / (Block / BlockDriver.SectorSize);
            _slotOfHead = new int[queue.Size];
            byte[] fill = new byte[Block];
            new Random(9).NextBytes(fill);
            for (int i = 0; i < Slots; i++)
            {
                _header[i] = heap.Allocate(HeaderSize);
                _status[i] = heap.Allocate(1);
                _data[i] = heap.Allocate(Block, Block);
                hv.Memory.Write(_data[i], fill);
            }
        }

        public long Run(bool write, int depth, TimeSpan duration, List<long> latencies)
        {
            latencies.Clear();
            long requests = 0;
            int inFlight = 0;
            long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            for (int slot = 0; slot < depth; slot++)
            {
                Add(write, slot);
                inFlight++;
            }
            _queue.Kick();
            bool draining = false;
            while (inFlight > 0)
            {
                if (!_queue.WaitForUsed(out ushort head, out _))
                {
                    throw new SimulatedGuestException($"{_queue.Name}: no completion within {_queue.Timeout.TotalMilliseconds:0} ms, {inFlight} in flight");
                }
                bool posted = false;
                do
                {
                    int slot = _slotOfHead[head];
                    latencies.Add(Stopwatch.GetTimestamp() - _submittedAt[slot]);
                    byte status = _hv.Memory.Read<byte>(_status[slot]);
                    if (status != BlockDriver.StatusOk)
                    {
                        throw new SimulatedGuestException($"{_queue.Name}: request failed with status {status}");
                    }
                    requests++;
                    inFlight--;
                    draining |= Stopwatch.GetTimestamp() >= end;
                    if (!draining)
                    {
                        Add(write, slot);
                        inFlight++;
                        posted = true;
                    }
                }
                while (_queue.TryTakeUsed(out head, out _));
                if (posted)
                {
                    _queue.Kick();
                }
            }
            return requests;
        }

        private void Add(bool write, int slot)
        {
            ulong sector = (ulong)_random.NextInt64((long)_blocks) * (Block / BlockDriver.SectorSize);
            _hv.Memory.Write(_header[slot], write ? BlockDriver.TypeOut : BlockDriver.TypeIn);
            _hv.Memory.Write(_header[slot] + 4, 0u);
            _hv.Memory.Write(_header[slot] + 8, sector);
            _hv.Memory.Write(_status[slot], (byte)0xff); // a status the device never wrote must not read as OK
            _chain[0] = new DriverBuffer(_header[slot], HeaderSize, false);
            _chain[1] = new DriverBuffer(_data[slot], Block, !write);
            _chain[2] = new DriverBuffer(_status[slot], 1, true);
            _submittedAt[slot] = Stopwatch.GetTimestamp();
            ushort head = _queue.Add(_chain);
            _slotOfHead[head] = slot;
        }
    }
}
