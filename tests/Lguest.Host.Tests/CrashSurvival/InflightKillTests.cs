using System.Buffers.Binary;
using Lguest.DeviceTestKit.VhostUser;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.CrashSurvival;

/// <summary>
/// Crash survival with inflight I/O tracking, with a simulated front end instead of QEMU: it keeps 32+ checksummed
/// writes in flight while the real back end process is SIGKILLed and restarted 20 times, reconnects each time as QEMU
/// does (SET_INFLIGHT_FD with the region from the first GET_INFLIGHT_FD, the ring handed over from its used index), and
/// checks that every write completes exactly once, OK, and is on disk.
/// </summary>
public sealed class InflightKillTests(ITestOutputHelper output)
{
    private const int Sectors = 2048;
    private const ulong MemoryBytes = 4 << 20;
    private const ulong RingAddress = 0x10000;
    private const ushort RingSize = 128;
    private const ulong Slots = 0x100000;
    private const int SlotBytes = 0x400;
    private const int Depth = 40;
    private const int Kills = 20;

    [Fact]
    public void Twenty_kills_with_writes_in_flight_lose_nothing_and_do_nothing_twice()
    {
        using var backend = new KilledBackend(Sectors);
        backend.Start();
        using VhostUserGuest guest = WhenListening(() => new VhostUserGuest(backend.Socket, MemoryBytes));
        guest.Negotiate(ulong.MaxValue, VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.InflightShmfd);
        (VhostUserInflight inflight, FileDescriptor inflightFd) = guest.FrontEnd.GetInflightFd(1, RingSize);
        using FileDescriptor keptByFrontEnd = inflightFd;
        guest.FrontEnd.SetInflightFd(inflight, keptByFrontEnd);
        guest.SendMemoryTable();
        (SplitRingDriver ring, EventFd call) = guest.StartRing(0, RingAddress, RingSize);

        var outstanding = new Dictionary<ushort, (int Seq, int Slot)>();
        var freeSlots = new Stack<int>(Enumerable.Range(0, Depth));
        var acked = new Dictionary<int, int>();     // sector -> last acknowledged seq
        int seq = 0, completions = 0, doubled = 0, maxDepth = 0;

        void Submit()
        {
            while (freeSlots.Count > 0 && ring.FreeDescriptorCount >= 3)
            {
                int slot = freeSlots.Pop();
                ulong at = Slots + (ulong)slot * SlotBytes;
                int sector = seq % Sectors;
                var header = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(header, 1);                    // VIRTIO_BLK_T_OUT
                BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)sector);
                guest.Memory.Write(at, header);
                guest.Memory.Write(at + 16, Record(seq));
                guest.Memory.Write(at + 16 + 512, new byte[] { 0xFF });
                ushort head = ring.AddBuffer([new DriverBuffer(at, 16, false), new DriverBuffer(at + 16, 512, false), new DriverBuffer(at + 16 + 512, 1, true)]);
                outstanding.Add(head, (seq, slot));
                seq++;
            }
            maxDepth = Math.Max(maxDepth, outstanding.Count);
        }

        void Reap()
        {
            while (ring.PendingUsed > 0 && ring.TryGetUsed(out ushort head, out _))
            {
                if (!outstanding.Remove(head, out var request))
                {
                    doubled++;
                    continue;
                }
                ulong at = Slots + (ulong)request.Slot * SlotBytes;
                Assert.Equal(0, guest.Memory.Read<byte>(at + 16 + 512));    // VIRTIO_BLK_S_OK: the guest sees no I/O error
                acked[request.Seq % Sectors] = request.Seq;
                freeSlots.Push(request.Slot);
                completions++;
            }
        }

        var random = new Random(12345);
        for (int kill = 0; kill <= Kills; kill++)
        {
            DateTime until = DateTime.UtcNow + TimeSpan.FromMilliseconds(random.Next(100, 400));
            while (DateTime.UtcNow < until)
            {
                Submit();
                guest.Kick(0);
                WaitForInterrupt(call);
                Reap();
            }
            if (kill == Kills)
            {
                break;
            }
            Submit();
            guest.Kick(0);
            backend.Kill();             // with the ring full of writes, some taken and not yet answered
            Reap();
            backend.Start();
            WhenListening(() =>
            {
                guest.Reconnect(backend.Socket);
                return guest;
            });
            guest.Negotiate(ulong.MaxValue, VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.InflightShmfd);
            guest.FrontEnd.SetInflightFd(inflight, keptByFrontEnd);
            guest.SendMemoryTable();
            guest.ResumeRing(0, RingAddress, RingSize);
        }

        // Drain what is left, then every acknowledged write must be the one on disk.
        DateTime drainDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (outstanding.Count > 0 && DateTime.UtcNow < drainDeadline)
        {
            guest.Kick(0);
            WaitForInterrupt(call);
            Reap();
        }
        guest.StopRing(0);
        Assert.Empty(outstanding);
        Assert.Equal(0, doubled);

        byte[] disk = File.ReadAllBytes(backend.Disk);
        int checkedRecords = 0;
        foreach ((int sector, int last) in acked)
        {
            Assert.Equal(Record(last), disk.AsSpan(sector * 512, 512).ToArray());
            checkedRecords++;
        }
        int resubmitted = backend.Log.Split('\n').Count(l => l.Contains("a previous back end took", StringComparison.Ordinal));
        output.WriteLine($"{Kills} kills, {completions} writes completed exactly once ({seq} submitted), max depth {maxDepth}, {checkedRecords} sectors verified, {resubmitted} restart(s) resubmitted requests");
        Assert.Equal(seq, completions);
        Assert.True(maxDepth >= 32, $"queue depth reached only {maxDepth}");
    }

    /// <summary>The socket file appears at bind(), a moment before listen(): a refused connect is retried.</summary>
    private static T WhenListening<T>(Func<T> connect)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return connect();
            }
            catch (SystemCallException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    private static void WaitForInterrupt(EventFd call)
    {
        if (Poll.WaitReadable(call.Descriptor, TimeSpan.FromMilliseconds(50)))
        {
            call.Drain();
        }
    }

    /// <summary>FNV-1a, 64 bits: enough to tell a torn or stale record from the one written.</summary>
    private static ulong Checksum(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * 1099511628211;
        }
        return hash;
    }

    /// <summary>A 512-byte record: its sequence number, a fill derived from it, and a checksum over both.</summary>
    private static byte[] Record(int seq)
    {
        var record = new byte[512];
        BinaryPrimitives.WriteInt32LittleEndian(record, seq);
        for (int i = 8; i < 504; i++)
        {
            record[i] = (byte)(seq * 31 + i);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(504), Checksum(record.AsSpan(0, 504)));
        return record;
    }
}
