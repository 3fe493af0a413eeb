using System.Buffers.Binary;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Devices;
using Lguest.Actors.Tests.Support;
using Lguest.DeviceTestKit.VhostUser;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Transports.VhostUser;

/// <summary>
/// restart-device under a vhost-user front end with requests in flight: a guest error on the queue thread resets the
/// device and drops the connection. What the queue was serving at that moment must either be answered, and the front
/// end told, before the connection drops, or stay in the inflight region for the next connection: never both, never
/// neither. The budget (max-restarts within restart-window) still ends the launcher once it is spent.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class InflightRestartSpecs : TestKit, IDisposable
{
    private const ulong MemoryBytes = 4UL << 20;
    private const ulong RingAddress = 0x10000;
    private const ulong Buffers = 0x100000;
    private const ushort RingSize = 16;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private const VhostUserProtocolFeatures Wanted =
        VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.InflightShmfd;

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-inflight-restart-").FullName;
    private readonly string _socket;
    private readonly string _disk;

    public InflightRestartSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output)
    {
        _socket = Path.Combine(_directory, "blk.sock");
        _disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(_disk, new byte[1 << 20]);
    }

    [Fact]
    public async Task A_device_restart_answers_what_it_completed_before_the_drop_and_resubmits_what_it_held()
    {
        var injector = new InflightFaultInjector();
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = Serve(injector, maxRestarts: 3, shutdown.Token);

        using VhostUserGuest guest = Connect();
        guest.Negotiate(ulong.MaxValue, Wanted);
        (VhostUserInflight inflight, FileDescriptor fd) = guest.FrontEnd.GetInflightFd(1, RingSize);
        using FileDescriptor region = fd;
        guest.FrontEnd.SetInflightFd(inflight, region);
        guest.SendMemoryTable();
        (_, EventFd call) = guest.StartRing(0, RingAddress, RingSize);
        var ring = new SplitRingDriver(guest.Memory, SplitRingSpec.LegacyLayout(RingAddress, RingSize), guest.Features);

        // The fault hits after three writes of the batch are completed and while the fourth is held; the fifth waits.
        injector.Arm(completeFirst: 3);
        ushort[] heads = [.. Enumerable.Range(0, 5).Select(i => Write(guest, ring, i))];
        guest.Kick(0);

        // The three completed before the fault are in the used ring and the front end was told, before the drop:
        // a front end that keeps its requests across the reconnection would otherwise wait for them for ever.
        Assert.True(Poll.WaitReadable(call.Descriptor, Patience), "the writes completed before the fault were never signalled");
        call.Drain();
        Assert.Equal([heads[0], heads[1], heads[2]], Used(ring));
        Assert.Equal(1, injector.Injected);

        // QEMU's reconnection, once the back end has hung up: the same region, the ring handed over from its used index.
        AwaitHangUp(guest);
        guest.Reconnect(_socket);
        guest.Negotiate(ulong.MaxValue, Wanted);
        guest.FrontEnd.SetInflightFd(inflight, region);
        guest.SendMemoryTable();
        guest.ResumeRing(0, RingAddress, RingSize);
        guest.Kick(0);

        var after = new List<ushort>();
        DateTime deadline = DateTime.UtcNow + Patience;
        while (after.Count < 2 && DateTime.UtcNow < deadline)
        {
            Poll.WaitReadable(call.Descriptor, TimeSpan.FromMilliseconds(100));
            after.AddRange(Used(ring));
        }
        Assert.Equal([heads[3], heads[4]], after);      // the held one first (it was in flight), then the one waiting
        Assert.Equal(1, injector.ResubmittingStarts);
        Assert.Equal(5, guest.StopRing(0));
        Assert.Empty(Used(ring));                        // nothing answered twice

        byte[] file = await File.ReadAllBytesAsync(_disk);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(Sector(i), file.AsSpan(i * 512, 512).ToArray());
        }
        Assert.False(exit.IsCompleted, "the launcher ended on a tolerated guest error");
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task A_fault_beyond_max_restarts_ends_the_launcher_with_one_line()
    {
        var injector = new InflightFaultInjector();
        Task<LauncherExit> exit = Serve(injector, maxRestarts: 2, CancellationToken.None);

        using VhostUserGuest guest = Connect();
        for (int fault = 1; fault <= 3; fault++)
        {
            if (fault > 1)
            {
                AwaitHangUp(guest);
                guest.Reconnect(_socket);
            }
            guest.Negotiate(ulong.MaxValue, Wanted & ~VhostUserProtocolFeatures.InflightShmfd);
            guest.SendMemoryTable();
            (_, EventFd call) = guest.StartRing(0, RingAddress, RingSize);
            var ring = new SplitRingDriver(guest.Memory, SplitRingSpec.LegacyLayout(RingAddress, RingSize), guest.Features);
            injector.Arm(completeFirst: 1);
            Write(guest, ring, 0);
            Write(guest, ring, 1);
            guest.Kick(0);
            Assert.True(Poll.WaitReadable(call.Descriptor, Patience), $"fault {fault} never happened");
            Assert.Equal(fault, injector.Injected);
            if (fault <= 2)
            {
                Assert.False(exit.IsCompleted, $"the launcher ended on fault {fault}, within max-restarts = 2");
            }
        }

        LauncherExit ended = await exit.WaitAsync(Patience);
        Assert.Equal(LauncherExit.Failed, ended.ExitCode);
        Assert.Contains("injected", ended.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ended.Message);
    }

    [Fact]
    public async Task A_ring_taken_over_with_completions_its_dead_back_end_never_signalled_is_signalled_at_once()
    {
        var injector = new InflightFaultInjector();
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = Serve(injector, maxRestarts: 3, shutdown.Token);

        using VhostUserGuest guest = Connect();
        guest.Negotiate(ulong.MaxValue, Wanted & ~VhostUserProtocolFeatures.InflightShmfd);
        guest.SendMemoryTable();
        (_, EventFd call) = guest.StartRing(0, RingAddress, RingSize);
        SplitRingAddresses layout = SplitRingSpec.LegacyLayout(RingAddress, RingSize);
        var ring = new SplitRingDriver(guest.Memory, layout, guest.Features);
        Assert.Equal(0, guest.StopRing(0));

        // A back end that died after publishing two completions and before writing the call eventfd.
        ushort[] heads = [Write(guest, ring, 0), Write(guest, ring, 1)];
        for (int i = 0; i < heads.Length; i++)
        {
            guest.Memory.Write(layout.Used + 4 + 8 * (ulong)i, (uint)heads[i]);
            guest.Memory.Write(layout.Used + 8 + 8 * (ulong)i, 1u);
        }
        guest.Memory.Write(layout.UsedIndex, (ushort)2);
        Assert.False(Poll.WaitReadable(call.Descriptor, TimeSpan.Zero));

        guest.Reconnect(_socket);
        guest.Negotiate(ulong.MaxValue, Wanted & ~VhostUserProtocolFeatures.InflightShmfd);
        guest.SendMemoryTable();
        guest.ResumeRing(0, RingAddress, RingSize);

        // Nothing new is asked of the device, so only the take-over itself can tell the driver.
        Assert.True(Poll.WaitReadable(call.Descriptor, Patience), "the completions the dead back end published were never signalled");
        Assert.Equal(heads, Used(ring));
        Assert.Equal(2, guest.StopRing(0));
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Our back end in this actor system with restart-device, its block device wrapped by <paramref name="injector"/>.</summary>
    private Task<LauncherExit> Serve(InflightFaultInjector injector, int maxRestarts, CancellationToken shutdown)
    {
        using var source = new TestGuest(GuestErrorPolicy.RestartDevice, maxRestarts);
        LauncherSettings settings = source.Settings with
        {
            Engine = EngineKind.VhostUser,
            Kernel = string.Empty,
            Devices = [new BlockSettings(_disk, ReadOnly: false) { Socket = _socket }],
        };
        var console = new FileDescriptor(0, ownsHandle: false);
        var environment = new GuestEnvironment(
            _ => throw new InvalidOperationException("vhost-user runs no engine"),
            d => injector.Wrap(DeviceFactory.Create(d, console, console, Sys.Log)),
            console,
            console);
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, settings, environment, shutdown);
        Assert.True(SpinWait.SpinUntil(() => File.Exists(_socket) || exit.IsCompleted, Patience), $"{_socket} never appeared");
        return exit;
    }

    /// <summary>The socket file appears at bind(), a moment before listen(): a refused connect is retried.</summary>
    private VhostUserGuest Connect()
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                return new VhostUserGuest(_socket, MemoryBytes);
            }
            catch (SystemCallException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>
    /// A front end reconnects after the back end hung up (QEMU's reconnect=1); reconnecting earlier would end the old
    /// connection from our side, before the device's restart, and spend nothing of the budget.
    /// </summary>
    private static void AwaitHangUp(VhostUserGuest guest)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                guest.FrontEnd.GetFeatures();
            }
            catch (Exception e) when (e is VhostUserProtocolException or SystemCallException)
            {
                return;
            }
            Thread.Sleep(20);
        }
        Assert.Fail("the back end never dropped the connection after the guest error");
    }

    private static List<ushort> Used(SplitRingDriver ring)
    {
        var heads = new List<ushort>();
        while (ring.TryGetUsed(out ushort head, out _))
        {
            heads.Add(head);
        }
        return heads;
    }

    private static ushort Write(VhostUserGuest guest, SplitRingDriver ring, int index)
    {
        ulong at = Buffers + (ulong)index * 0x1000;
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)index);
        guest.Memory.Write(at, header);
        guest.Memory.Write(at + 0x100, Sector(index));
        guest.Memory.Write(at + 0x400, (byte)0xFF);
        return ring.AddBuffer([new DriverBuffer(at, 16, false), new DriverBuffer(at + 0x100, 512, false), new DriverBuffer(at + 0x400, 1, true)]);
    }

    private static byte[] Sector(int index) => [.. Enumerable.Range(0, 512).Select(i => (byte)(index * 11 + i + 3))];
}
