using System.Buffers.Binary;
using Akka.TestKit.Xunit2;
using Lguest.DeviceTestKit.VhostUser;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Devices;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Transports.VhostUser;

/// <summary>
/// A front end comes back to the block device with the inflight region of a back end that died holding requests:
/// the device serves exactly those, in the order they were taken, before anything new, and none it had completed.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class InflightResubmitSpecs : TestKit, IDisposable
{
    private const ulong MemoryBytes = 4UL << 20;
    private const ulong RingAddress = 0x10000;
    private const ulong Buffers = 0x100000;
    private const ushort RingSize = 16;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private const VhostUserProtocolFeatures Wanted =
        VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.InflightShmfd;

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-inflight-").FullName;

    public InflightResubmitSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output)
    {
    }

    [Fact]
    public async Task Requests_a_dead_back_end_took_are_served_once_in_order_before_new_ones()
    {
        string socket = Path.Combine(_directory, "blk.sock");
        string disk = Path.Combine(_directory, "disk.img");
        await File.WriteAllBytesAsync(disk, new byte[1 << 20]);
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = VhostUserBackend.Serve(Sys, new BlockSettings(disk, ReadOnly: false) { Socket = socket }, shutdown.Token);

        using (var guest = new VhostUserGuest(socket, MemoryBytes))
        {
            guest.Negotiate(ulong.MaxValue, Wanted);
            (VhostUserInflight inflight, FileDescriptor fd) = guest.FrontEnd.GetInflightFd(1, RingSize);
            using FileDescriptor region = fd;
            guest.FrontEnd.SetInflightFd(inflight, region);
            guest.SendMemoryTable();
            (SplitRingDriver ring, EventFd call) = guest.StartRing(0, RingAddress, RingSize);
            Assert.Equal(0, guest.StopRing(0));
            guest.Reconnect(socket);     // the back end that served that connection is gone; its region stays with us

            // Four writes are made available; the dead back end had taken all four and completed the third only.
            ushort[] heads = Enumerable.Range(0, 4).Select(i => Write(guest, ring, i)).ToArray();
            using (MemoryMapping view = MemoryMapping.MapShared(region, 0, inflight.MmapSize))
            {
                Span<byte> queue = view.AsSpan(0, (int)inflight.MmapSize);
                BinaryPrimitives.WriteUInt16LittleEndian(queue[8..], 1);            // version
                BinaryPrimitives.WriteUInt16LittleEndian(queue[10..], RingSize);    // desc_num
                BinaryPrimitives.WriteUInt16LittleEndian(queue[12..], heads[2]);    // last_batch_head
                BinaryPrimitives.WriteUInt16LittleEndian(queue[14..], 1);           // used_idx
                foreach ((ushort head, ulong counter) in new[] { (heads[0], 10UL), (heads[1], 11UL), (heads[3], 13UL) })
                {
                    queue[16 + 16 * head] = 1;
                    BinaryPrimitives.WriteUInt64LittleEndian(queue[(16 + 16 * head + 8)..], counter);
                }
            }
            SplitRingAddresses layout = SplitRingSpec.LegacyLayout(RingAddress, RingSize);
            guest.Memory.Write(layout.UsedSlot(0), (uint)heads[2]);
            guest.Memory.Write(layout.UsedSlot(0) + 4, 1u);
            guest.Memory.Write(layout.UsedIndex, (ushort)1);

            guest.Negotiate(ulong.MaxValue, Wanted);
            guest.FrontEnd.SetInflightFd(inflight, region);
            guest.SendMemoryTable();
            guest.ResumeRing(0, RingAddress, RingSize);
            ushort fifth = Write(guest, ring, 4);
            guest.Kick(0);

            var completed = new List<ushort>();
            DateTime deadline = DateTime.UtcNow + Patience;
            while (completed.Count < 5 && DateTime.UtcNow < deadline)
            {
                Poll.WaitReadable(call.Descriptor, TimeSpan.FromMilliseconds(100));
                while (ring.TryGetUsed(out ushort head, out _))
                {
                    completed.Add(head);
                }
            }
            Assert.Equal([heads[2], heads[0], heads[1], heads[3], fifth], completed);
            Assert.Equal(5, guest.StopRing(0));
            Assert.False(ring.TryGetUsed(out _, out _));
        }

        // Each resubmitted write and the new one reached the file; the one the dead back end completed was not redone.
        byte[] file = await File.ReadAllBytesAsync(disk);
        foreach (int i in new[] { 0, 1, 3, 4 })
        {
            Assert.Equal(Sector(i), file.AsSpan(i * 512, 512).ToArray());
        }
        Assert.True(file.AsSpan(2 * 512, 512).IndexOfAnyExcept((byte)0) < 0);
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static ushort Write(VhostUserGuest guest, SplitRingDriver ring, int index)
    {
        ulong at = Buffers + (ulong)index * 0x1000;
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)index);
        guest.Memory.Write(at, header);
        guest.Memory.Write(at + 0x100, Sector(index));
        return ring.AddBuffer([new DriverBuffer(at, 16, false), new DriverBuffer(at + 0x100, 512, false), new DriverBuffer(at + 0x400, 1, true)]);
    }

    private static byte[] Sector(int index) => Enumerable.Range(0, 512).Select(i => (byte)(index * 7 + i + 1)).ToArray();
}
