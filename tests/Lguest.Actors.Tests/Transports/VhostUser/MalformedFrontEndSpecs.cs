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
/// Each class of malformed message, sent to the running back end (the connection actor, not just the session):
/// the front end is hung up on, every descriptor it sent is closed, nothing else is disturbed, and the next front
/// end is served.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class MalformedFrontEndSpecs : TestKit, IDisposable
{
    private const ulong MemoryBytes = 1UL << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-vhost-bad-").FullName;

    public MalformedFrontEndSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output)
    {
    }

    public static TheoryData<string> Classes =>
    [
        "bad version", "reserved flag", "oversized payload", "wrong payload size", "unknown request", "fd on a request that takes none",
        "memory table past its file", "memory table without its fds", "overlapping regions", "queue size not a power of two",
        "ring outside every region", "kick before any memory", "vring index past the device's queues",
    ];

    [Theory]
    [MemberData(nameof(Classes))]
    public async Task Is_hung_up_on_with_its_fds_closed_and_the_next_front_end_is_served(string malformed)
    {
        string socket = Path.Combine(_directory, "rng.sock");
        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = Serve(new RngSettings("/dev/urandom", 4096) { Socket = socket }, shutdown.Token);
        Dictionary<string, string> before = ConnectionDescriptors();

        using (FileDescriptor connection = UnixSocket.Connect(socket))
        using (FileDescriptor memory = MemFd.Create("malformed front end", MemoryBytes))
        using (EventFd doorbell = EventFd.Create())
        {
            Send(malformed, connection, memory, doorbell);
            Assert.True(HungUp(connection), $"{malformed}: the back end kept the connection");
        }

        // Everything this front end brought, and everything the connection opened, is closed again.
        AwaitAssert(() => Assert.Empty(NewDescriptors(before)), Patience);
        using (var next = new VhostUserGuest(socket, MemoryBytes))
        {
            next.Negotiate(ulong.MaxValue, VhostUserProtocolFeatures.ReplyAck);
            next.SendMemoryTable();
            (SplitRingDriver ring, EventFd call) = next.StartRing(0, 0x10000, 16);
            ring.AddBuffer([new DriverBuffer(0x80000, 16, DeviceWritable: true)]);
            next.Kick(0);
            Assert.True(Poll.WaitReadable(call.Descriptor, Patience), "the next front end was not served");
        }
        Assert.False(exit.IsCompleted);
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static void Send(string malformed, FileDescriptor connection, FileDescriptor memory, EventFd doorbell)
    {
        void Owned() => UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetOwner, VhostUserEmpty.Instance));
        void WithMemory()
        {
            Owned();
            var table = new VhostUserMemoryTable([new VhostUserMemoryRegion(0, MemoryBytes, 0x7f0000000000, 0)]);
            UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetMemTable, table), [memory]);
        }

        switch (malformed)
        {
            case "bad version":
                UnixSocket.Send(connection, Header(VhostUserRequest.GetFeatures, flags: 2, size: 0));
                break;
            case "reserved flag":
                UnixSocket.Send(connection, Header(VhostUserRequest.GetFeatures, flags: 1 | 0x100, size: 0));
                break;
            case "oversized payload":
                UnixSocket.Send(connection, Header(VhostUserRequest.SetFeatures, flags: 1, size: 1 << 20));
                break;
            case "wrong payload size":
                UnixSocket.Send(connection, [.. Header(VhostUserRequest.SetVringNum, flags: 1, size: 4), 0, 0, 0, 0]);
                break;
            case "unknown request":
                UnixSocket.Send(connection, Header((VhostUserRequest)99, flags: 1, size: 0));
                break;
            case "fd on a request that takes none":
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.GetFeatures, VhostUserEmpty.Instance), [doorbell.Descriptor]);
                break;
            case "memory table past its file":
                Owned();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetMemTable,
                    new VhostUserMemoryTable([new VhostUserMemoryRegion(0, MemoryBytes * 2, 0x7f0000000000, 0)])), [memory]);
                break;
            case "memory table without its fds":
                Owned();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetMemTable,
                    new VhostUserMemoryTable([new VhostUserMemoryRegion(0, MemoryBytes, 0x7f0000000000, 0)])));
                break;
            case "overlapping regions":
                Owned();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetMemTable, new VhostUserMemoryTable([
                    new VhostUserMemoryRegion(0, MemoryBytes, 0x7f0000000000, 0),
                    new VhostUserMemoryRegion(0x1000, 0x1000, 0x7f1000000000, 0),
                ])), [memory, memory]);
                break;
            case "queue size not a power of two":
                WithMemory();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 100)));
                break;
            case "ring outside every region":
                WithMemory();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 16)));
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetVringAddr,
                    new VhostUserVringAddress(0, 0, 0x100000000, 0x100002000, 0x100001000, 0)));
                break;
            case "kick before any memory":
                Owned();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: false)), [doorbell.Descriptor]);
                break;
            case "vring index past the device's queues":
                WithMemory();
                UnixSocket.Send(connection, VhostUserCodec.EncodeRequest(VhostUserRequest.SetVringNum, new VhostUserVringState(7, 16)));
                break;
            default:
                throw new ArgumentException(malformed);
        }
    }

    private static byte[] Header(VhostUserRequest request, uint flags, uint size)
    {
        byte[] header = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)request);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), size);
        return header;
    }

    /// <summary>The back end closed its end: the socket reads end-of-file (or a reset) within the patience.</summary>
    private static bool HungUp(FileDescriptor connection)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        byte[] buffer = new byte[256];
        var fds = new List<FileDescriptor>();
        while (DateTime.UtcNow < deadline)
        {
            if (!Poll.WaitReadable(connection, deadline - DateTime.UtcNow))
            {
                return false;
            }
            try
            {
                if (UnixSocket.Receive(connection, buffer, fds, 8, out _) == 0)
                {
                    return true;
                }
            }
            catch (SystemCallException e) when (e.Errno == Errno.ECONNRESET)
            {
                return true;
            }
            foreach (FileDescriptor fd in fds)
            {
                fd.Dispose();
            }
            fds.Clear();
        }
        return false;
    }

    private Task<LauncherExit> Serve(DeviceSettings device, CancellationToken shutdown) => VhostUserBackend.Serve(Sys, device, shutdown);

    private static Dictionary<string, string> ConnectionDescriptors() => VhostUserServiceSpecs.ConnectionDescriptors();

    private static List<string> NewDescriptors(Dictionary<string, string> before) => VhostUserServiceSpecs.NewDescriptors(before);
}
