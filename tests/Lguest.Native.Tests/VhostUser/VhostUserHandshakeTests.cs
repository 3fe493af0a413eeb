using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;
using static Lguest.Native.Tests.VhostUser.VhostUserTestSupport;

namespace Lguest.Native.Tests.VhostUser;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class VhostUserProcessWideCounts
{
    public const string Name = "vhost-user process-wide fd counts";
}

/// <summary>
/// A vhost-user-blk front end's whole conversation with a back end over a real socket, with real eventfds and a memfd.
/// Counts every descriptor in the process, so it runs alone.
/// </summary>
[Collection(VhostUserProcessWideCounts.Name)]
public sealed class VhostUserHandshakeTests
{
    private const ulong GuestBase = 0;
    private const ulong UserBase = 0x7f12_3400_0000;
    private const ulong RegionSize = 0x40000;
    private const int Queues = 2;

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_vhost_user_blk_handshake_negotiates_maps_starts_and_stops_rings_and_leaves_no_descriptor(bool qemuOrder)
    {
        int before = OpenDescriptors();
        RunHandshake(qemuOrder);
        Assert.Equal(before, OpenDescriptors());
    }

    private static void RunHandshake(bool qemuOrder)
    {
        const ulong blockFeatures = (1UL << 1) | (1UL << 2) | (1UL << 6) | (1UL << 9) | (1UL << 29);
        const VhostUserProtocolFeatures protocol = VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config;
        byte[] config = BlockConfig();
        var control = new RecordingRingControl { StopIndex = 17 };
        (FileDescriptor frontSocket, FileDescriptor backSocket) = UnixSocket.CreatePair();
        Exception? backEndFailure = null;
        var backEnd = new Thread(() =>
        {
            using var channel = new VhostUserChannel(backSocket);
            using var session = new VhostUserSession(new VhostUserDeviceOptions(Queues, blockFeatures, protocol, () => config), control);
            try
            {
                while (channel.ReceiveRequest() is { } message)
                {
                    VhostUserOutcome outcome = session.Handle(message);
                    if (outcome.Reply is { } reply)
                    {
                        channel.SendReply(outcome.Request, reply);
                    }
                }
            }
            catch (Exception e)
            {
                backEndFailure = e;
            }
        });
        backEnd.Start();

        using (var front = new VhostUserFrontEnd(frontSocket))
        using (FileDescriptor memfd = MemFd.Create("guest-ram", RegionSize))
        using (MemoryMapping ram = MemoryMapping.MapShared(memfd, 0, RegionSize))
        {
            var kicks = Enumerable.Range(0, Queues).Select(_ => EventFd.Create(nonBlocking: true)).ToArray();
            var calls = Enumerable.Range(0, Queues).Select(_ => EventFd.Create(nonBlocking: true)).ToArray();
            try
            {
                ulong offered = front.GetFeatures();
                Assert.Equal(blockFeatures | VhostUserFeatures.Version1 | VhostUserFeatures.ProtocolFeatures, offered);
                ulong acked = offered & ~(1UL << 9); // the driver declines FLUSH
                if (!qemuOrder)
                {
                    front.SetFeatures(acked);
                }
                Assert.Equal((ulong)protocol, front.GetProtocolFeatures());
                front.SetProtocolFeatures(protocol);
                Assert.True(front.ReplyAck);
                Assert.Equal((ulong)Queues, front.GetQueueNum());
                if (qemuOrder)
                {
                    front.SetOwner();
                    Assert.Equal(offered, front.GetFeatures());
                    // QEMU points each ring's call at a masked notifier before there is any memory.
                    for (uint i = 0; i < Queues; i++)
                    {
                        front.SetVringFile(VhostUserRequest.SetVringCall, i, calls[i].Descriptor);
                    }
                    Assert.Equal(config, front.GetConfig(0, config.Length));
                    front.SetFeatures(acked);
                }
                else
                {
                    Assert.Equal(config.AsSpan(0, 8).ToArray(), front.GetConfig(0, 8));
                    front.SetOwner();
                }

                front.SetMemTable(new VhostUserMemoryTable([new VhostUserMemoryRegion(GuestBase, RegionSize, UserBase, 0)]), [memfd]);
                for (uint i = 0; i < Queues; i++)
                {
                    ulong ring = UserBase + 0x10000 * (i + 1);
                    front.SetVringNum(i, 128);
                    front.SetVringBase(i, 3);
                    front.SetVringAddr(new VhostUserVringAddress(i, 0, ring, ring + 0x1000, ring + 0x800, 0));
                    front.SetVringFile(VhostUserRequest.SetVringKick, i, kicks[i].Descriptor);
                    front.SetVringFile(VhostUserRequest.SetVringCall, i, calls[i].Descriptor);
                }
                for (uint i = 0; i < Queues; i++)
                {
                    front.SetVringEnable(i, true);
                }

                // REPLY_ACK made every request above synchronous, so the back end's view is settled.
                Assert.Equal(Queues, control.Started.Count);
                for (int i = 0; i < Queues; i++)
                {
                    VhostUserRingStart start = control.Started[i];
                    Assert.Equal(i, start.Index);
                    Assert.Equal((ushort)3, start.Base);
                    Assert.Equal(new SplitQueueLayout(128, 0x10000UL * (ulong)(i + 1), 0x10000UL * (ulong)(i + 1) + 0x800, 0x10000UL * (ulong)(i + 1) + 0x1000), start.Layout);

                    // The doorbells are the front end's eventfds: a kick reaches the back end, a call reaches the front end.
                    kicks[i].Signal();
                    var value = new byte[8];
                    Assert.Equal(8, FileIo.Read(start.Kick!, value));
                    Assert.Equal(1UL, BitConverter.ToUInt64(value));
                    FileIo.Write(start.Call!, BitConverter.GetBytes(2UL));
                    Assert.Equal(2UL, calls[i].Drain());

                    // Guest memory is shared: what the front end writes at a ring address, the back end reads.
                    ram.AsSpan(start.Layout.AvailableRing + 2, 2).Fill(0x05);
                    Assert.Equal((ushort)0x0505, start.Memory.Read<ushort>(start.Layout.AvailableRing + 2));
                }

                Assert.Equal(17u, front.GetVringBase(0));
                Assert.Equal(17u, front.GetVringBase(1));
                Assert.Equal([0, 1], control.Stopped);
            }
            finally
            {
                foreach (EventFd e in kicks.Concat(calls))
                {
                    e.Dispose();
                }
            }
        }

        Assert.True(backEnd.Join(TimeSpan.FromSeconds(10)), "the back end did not see the disconnect");
        Assert.Null(backEndFailure);
        Assert.Equal(1, control.MemoryChanges); // the disconnect released the table
    }
}
