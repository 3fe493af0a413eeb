using System.Buffers.Binary;
using Akka.TestKit.Xunit2;
using Lguest.DeviceTestKit.VhostUser;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
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
/// engine = vhost-user with our own front end on the other end of the socket: the devices answer requests through
/// the same queue actors, a ring stops where GET_VRING_BASE says, and a front end that goes away leaves nothing behind.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class VhostUserServiceSpecs : TestKit, IDisposable
{
    private const ulong MemoryBytes = 4UL << 20;
    private const ulong RingAddress = 0x10000;
    private const ulong Buffers = 0x100000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-vhost-").FullName;

    public VhostUserServiceSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output)
    {
    }

    [Fact]
    public async Task Rng_requests_are_served_and_a_reconnect_is_served_afresh()
    {
        string socket = Path.Combine(_directory, "rng.sock");
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = Serve(new RngSettings("/dev/urandom", 4096) { Socket = socket }, shutdown.Token);
        Dictionary<string, string> before = ConnectionDescriptors();

        for (int connection = 1; connection <= 2; connection++)
        {
            using (var front = new VhostUserGuest(socket, MemoryBytes))
            {
                front.Negotiate(ulong.MaxValue, VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue);
                front.SendMemoryTable();
                (SplitRingDriver ring, EventFd call) = front.StartRing(0, RingAddress, 64);

                ushort head = ring.AddBuffer([new DriverBuffer(Buffers, 64, DeviceWritable: true)]);
                front.Kick(0);
                Assert.True(Poll.WaitReadable(call.Descriptor, Patience), "no interrupt on the call eventfd");
                Assert.True(ring.TryGetUsed(out ushort usedHead, out uint length));
                Assert.Equal(head, usedHead);
                Assert.Equal(64u, length);
                byte[] random = new byte[64];
                front.Memory.Read(Buffers, random);
                Assert.Contains(random, b => b != 0);

                Assert.Equal(1, front.StopRing(0)); // GET_VRING_BASE: one request served, the next is index 1
            }
            Assert.False(exit.IsCompleted);
        }

        // Both connections are gone: no socket, eventfd, memfd or pipe of theirs is left open.
        AwaitAssert(() => Assert.Empty(NewDescriptors(before)), Patience);
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
        Assert.False(File.Exists(socket));
    }

    [Fact]
    public async Task Block_requests_reach_the_file_and_the_capacity_is_in_the_config()
    {
        string socket = Path.Combine(_directory, "blk.sock");
        string disk = Path.Combine(_directory, "disk.img");
        await File.WriteAllBytesAsync(disk, new byte[1 << 20]);
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = Serve(new BlockSettings(disk, ReadOnly: false) { Socket = socket }, shutdown.Token);
        byte[] sector = Enumerable.Range(0, 512).Select(i => (byte)(i * 3)).ToArray();

        using (var front = new VhostUserGuest(socket, MemoryBytes))
        {
            front.Negotiate(ulong.MaxValue, VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.Config);
            Assert.Equal((ulong)(1 << 20) / 512, BinaryPrimitives.ReadUInt64LittleEndian(front.ReadConfig(8)));
            front.SendMemoryTable();
            (SplitRingDriver ring, EventFd call) = front.StartRing(0, RingAddress, 128);

            // OUT to sector 2: header, 512 bytes of data, status byte.
            front.Memory.Write(Buffers, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
            front.Memory.Write(Buffers + 0x1000, sector);
            ring.AddBuffer([
                new DriverBuffer(Buffers, 16, DeviceWritable: false),
                new DriverBuffer(Buffers + 0x1000, 512, DeviceWritable: false),
                new DriverBuffer(Buffers + 0x2000, 1, DeviceWritable: true),
            ]);
            front.Kick(0);
            Assert.True(Poll.WaitReadable(call.Descriptor, Patience), "no interrupt on the call eventfd");
            Assert.True(ring.TryGetUsed(out _, out _));
            Assert.Equal(0, front.Memory.Read<byte>(Buffers + 0x2000)); // VIRTIO_BLK_S_OK
        }

        byte[] file = await File.ReadAllBytesAsync(disk);
        Assert.Equal(sector, file.AsSpan(1024, 512).ToArray());
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task A_front_end_that_breaks_the_protocol_is_dropped_and_the_next_is_served()
    {
        string socket = Path.Combine(_directory, "rng2.sock");
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = Serve(new RngSettings("/dev/urandom", 4096) { Socket = socket }, shutdown.Token);

        using (var rogue = new VhostUserGuest(socket, MemoryBytes))
        {
            // A ring kicked before any memory table: out of order, so the back end hangs up.
            // A ring sized before anyone owns the device: out of order, so the back end hangs up.
            Assert.ThrowsAny<Exception>(() =>
            {
                rogue.FrontEnd.SetVringNum(0, 64);
                rogue.FrontEnd.GetFeatures();
            });
        }

        using (var front = new VhostUserGuest(socket, MemoryBytes))
        {
            front.Negotiate(ulong.MaxValue, VhostUserProtocolFeatures.ReplyAck);
            front.SendMemoryTable();
            (SplitRingDriver ring, EventFd call) = front.StartRing(0, RingAddress, 64);
            ring.AddBuffer([new DriverBuffer(Buffers, 16, DeviceWritable: true)]);
            front.Kick(0);
            Assert.True(Poll.WaitReadable(call.Descriptor, Patience), "the next front end was not served");
        }
        Assert.False(exit.IsCompleted);
        shutdown.Cancel();
        await exit.WaitAsync(Patience);
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private Task<LauncherExit> Serve(DeviceSettings device, CancellationToken shutdown) => VhostUserBackend.Serve(Sys, device, shutdown);


    /// <summary>
    /// The kinds of descriptor a connection opens (the socket, kick and call eventfds, the memory table's memfds),
    /// by number. Assemblies the runtime loads on first use (regular files) and the pipes its own engines open
    /// lazily are not a connection's, and do not count.
    /// </summary>
    internal static Dictionary<string, string> ConnectionDescriptors()
    {
        var targets = new Dictionary<string, string>();
        foreach (string fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                string target = new FileInfo(fd).LinkTarget ?? "?";
                if (target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("anon_inode:", StringComparison.Ordinal)
                    || target.StartsWith("/memfd:", StringComparison.Ordinal))
                {
                    targets[Path.GetFileName(fd)] = target;
                }
            }
            catch (IOException)
            {
            }
        }
        return targets;
    }

    internal static List<string> NewDescriptors(Dictionary<string, string> before) =>
        ConnectionDescriptors().Where(kv => !before.TryGetValue(kv.Key, out string? target) || target != kv.Value)
            .Select(kv => $"{kv.Key} -> {kv.Value}").ToList();
}
