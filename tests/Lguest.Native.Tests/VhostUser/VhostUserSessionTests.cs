using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;
using static Lguest.Native.Tests.VhostUser.SessionFixture;
using static Lguest.Native.Tests.VhostUser.VhostUserTestSupport;

namespace Lguest.Native.Tests.VhostUser;

public sealed class VhostUserSessionTests
{
    [Fact]
    public void The_memory_table_maps_a_memfd_at_a_non_zero_offset_and_translates_guest_and_user_addresses()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        int page = Page;
        front.AsSpan((ulong)page + 0x123, 4).Fill(0xAB);

        var memory = f.Session.Memory!;
        Assert.Equal(RegionSize, memory.Size);
        Assert.Equal(0xABABABABu, memory.Read<uint>(GuestBase + 0x123));
        memory.Write<uint>(GuestBase + 0x200, 0x1234_5678);
        Assert.Equal(0x1234_5678u, BitConverter.ToUInt32(front.AsSpan((ulong)page + 0x200, 4)));

        Assert.True(memory.TryTranslateUserAddress(UserBase + 0x123, 4, out ulong guest));
        Assert.Equal(GuestBase + 0x123, guest);
        Assert.False(memory.TryTranslateUserAddress(UserBase + RegionSize - 2, 4, out _));
    }

    [Fact]
    public void The_session_keeps_no_memory_table_descriptor_once_mapped()
    {
        using var f = new SessionFixture().Negotiated();
        using (MemoryMapping front = f.SetMemoryTable())
        {
            Assert.Equal(0, OpenCopies(f.Marker));
            Assert.NotNull(f.Session.Memory);
        }
    }

    [Fact]
    public void A_region_past_the_end_of_its_file_is_refused_and_changes_nothing()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping first = f.SetMemoryTable();
        var before = f.Session.Memory;
        FileDescriptor small = MemFd.Create(f.Marker, 0x2000);
        var refused = f.Refused(VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(0, 0x2000, 0x1000, 0x1000)]), small);
        Assert.Equal(VhostUserViolation.MemoryRegionPastFileEnd, refused.Violation);
        Assert.Same(before, f.Session.Memory);
        Assert.Equal(0, OpenCopies(f.Marker));
        Assert.Equal(0, f.Control.MemoryChanges);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(65536u)]
    [InlineData(32769u)]
    public void A_queue_size_of_zero_not_a_power_of_two_or_over_32768_is_refused(uint size)
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        Assert.Equal(VhostUserViolation.QueueSizeInvalid, f.Refused(VhostUserRequest.SetVringNum, new VhostUserVringState(0, size)).Violation);
        Assert.Null(f.Session.Vrings[0].Size);
        f.Send(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 32768));
        Assert.Equal((ushort)32768, f.Session.Vrings[0].Size);
    }

    [Fact]
    public void A_vring_index_past_the_queue_count_is_refused_for_every_ring_request()
    {
        using var f = new SessionFixture(queues: 2).Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        Assert.Equal(VhostUserViolation.VringIndexOutOfRange, f.Refused(VhostUserRequest.SetVringNum, new VhostUserVringState(2, 256)).Violation);
        Assert.Equal(VhostUserViolation.VringIndexOutOfRange, f.Refused(VhostUserRequest.SetVringBase, new VhostUserVringState(2, 0)).Violation);
        Assert.Equal(VhostUserViolation.VringIndexOutOfRange, f.Refused(VhostUserRequest.SetVringAddr, RingAddress(2)).Violation);
        Assert.Equal(VhostUserViolation.VringIndexOutOfRange, f.Refused(VhostUserRequest.GetVringBase, new VhostUserVringState(2, 0)).Violation);
        Assert.Equal(VhostUserViolation.VringIndexOutOfRange, f.Refused(VhostUserRequest.SetVringEnable, new VhostUserVringState(255, 1)).Violation);
        var refused = f.Refused(VhostUserRequest.SetVringCall, new VhostUserVringFile(2, NoFd: false), VhostUserTestSupport.MarkedEventFd(f.Marker));
        Assert.Equal(VhostUserViolation.VringIndexOutOfRange, refused.Violation);
        Assert.Equal(0, OpenCopies(f.Marker));
    }

    [Fact]
    public void Vring_base_and_enable_values_out_of_range_are_refused()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        Assert.Equal(VhostUserViolation.VringBaseInvalid, f.Refused(VhostUserRequest.SetVringBase, new VhostUserVringState(0, 65536)).Violation);
        Assert.Equal(VhostUserViolation.VringEnableInvalid, f.Refused(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 2)).Violation);
    }

    public static TheoryData<string, VhostUserVringAddress, VhostUserViolation> BadAddresses => new()
    {
        { "descriptors misaligned", RingAddress(0) with { DescriptorUserAddress = UserBase + 8 }, VhostUserViolation.RingAddressMisaligned },
        { "available misaligned", RingAddress(0) with { AvailableUserAddress = UserBase + 0x1001 }, VhostUserViolation.RingAddressMisaligned },
        { "used misaligned", RingAddress(0) with { UsedUserAddress = UserBase + 0x2002 }, VhostUserViolation.RingAddressMisaligned },
        { "descriptors outside memory", RingAddress(0) with { DescriptorUserAddress = 0x1000 }, VhostUserViolation.RingAddressUntranslatable },
        { "used ring runs off the region's end", RingAddress(0) with { UsedUserAddress = UserBase + RegionSize - 0x400 }, VhostUserViolation.RingAddressUntranslatable },
        { "available ring wraps 2^64", RingAddress(0) with { AvailableUserAddress = ulong.MaxValue - 1 }, VhostUserViolation.RingAddressUntranslatable },
    };

    [Theory]
    [MemberData(nameof(BadAddresses))]
    public void Ring_addresses_must_be_aligned_and_inside_one_region(string what, VhostUserVringAddress address, VhostUserViolation violation)
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        f.Send(VhostUserRequest.SetVringNum, new VhostUserVringState(0, RingSize));
        var refused = f.Refused(VhostUserRequest.SetVringAddr, address);
        Assert.True(refused.Violation == violation, $"{what}: {refused.Message}");
        Assert.Null(f.Session.Vrings[0].Layout);
    }

    [Fact]
    public void A_good_ring_address_becomes_a_guest_physical_layout()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        var layout = VhostUserRingLayout.Resolve(f.Session.Memory!, RingSize, RingAddress(1));
        Assert.Equal(new SplitQueueLayout(RingSize, GuestBase + 0x3000, GuestBase + 0x4000, GuestBase + 0x5000), layout);
    }

    [Fact]
    public void Messages_out_of_order_are_refused_by_name()
    {
        using var f = new SessionFixture();
        Assert.Equal(VhostUserViolation.FeaturesNotQueried, f.Refused(VhostUserRequest.SetFeatures, new VhostUserU64(1UL << 32)).Violation);
        Assert.Equal(VhostUserViolation.ProtocolFeaturesNotQueried, f.Refused(VhostUserRequest.GetProtocolFeatures).Violation);
        f.Send(VhostUserRequest.GetFeatures);
        Assert.Equal(VhostUserViolation.FeaturesNotOffered, f.Refused(VhostUserRequest.SetFeatures, new VhostUserU64(1UL << 5)).Violation);
        Assert.Equal(0UL, f.Session.AckedFeatures);
        Assert.Equal(VhostUserViolation.ProtocolFeaturesNotQueried, f.Refused(VhostUserRequest.SetProtocolFeatures, new VhostUserU64(1)).Violation);
        Assert.Equal(VhostUserViolation.FeatureNotNegotiated, f.Refused(VhostUserRequest.GetQueueNum).Violation);
        Assert.Equal(VhostUserViolation.FeatureNotNegotiated, f.Refused(VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[4])).Violation);
        Assert.Equal(VhostUserViolation.FeatureNotNegotiated, f.Refused(VhostUserRequest.ResetDevice).Violation);
        f.Send(VhostUserRequest.GetProtocolFeatures);
        Assert.Equal(VhostUserViolation.ProtocolFeaturesNotOffered, f.Refused(VhostUserRequest.SetProtocolFeatures, new VhostUserU64(1UL << 1)).Violation);

        Assert.Equal(VhostUserViolation.NotOwner, f.Refused(VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(0, 0x1000, 0x1000, 0)]), MemFd.Create(f.Marker, 0x1000)).Violation);
        f.Send(VhostUserRequest.SetOwner);
        Assert.Equal(VhostUserViolation.OwnerAlreadySet, f.Refused(VhostUserRequest.SetOwner).Violation);

        Assert.Equal(VhostUserViolation.MemoryTableMissing, f.Refused(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 256)).Violation);
        Assert.Equal(VhostUserViolation.MemoryTableMissing, f.Refused(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: false), VhostUserTestSupport.MarkedEventFd(f.Marker)).Violation);
        // QEMU's vhost-user net disables its rings before SET_FEATURES: accepted, as QEMU and libvhost-user do.
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 0));
        Assert.False(f.Session.Vrings[0].EnabledByFrontEnd);
        // QEMU sets each ring's call descriptor while initialising, before any memory table: that is in order.
        f.Send(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: false), false, VhostUserTestSupport.MarkedEventFd(f.Marker));

        using MemoryMapping front = f.SetMemoryTable();
        Assert.Equal(VhostUserViolation.RingSizeMissing, f.Refused(VhostUserRequest.SetVringAddr, RingAddress(0)).Violation);
        Assert.Equal(VhostUserViolation.RingAddressMissing, f.Refused(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: false), VhostUserTestSupport.MarkedEventFd(f.Marker)).Violation);
        f.ConfigureRing(0);
        Assert.Equal(VhostUserViolation.RingStarted, f.Refused(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 128)).Violation);
        Assert.Equal(VhostUserViolation.RingStarted, f.Refused(VhostUserRequest.SetVringBase, new VhostUserVringState(0, 3)).Violation);
        Assert.Equal(2, OpenCopies(f.Marker)); // the ring's kick and call, nothing refused
    }

    [Fact]
    public void Config_requests_outside_the_configuration_space_are_refused()
    {
        using var f = new SessionFixture().Negotiated();
        Assert.Equal(VhostUserViolation.ConfigOutOfRange, f.Refused(VhostUserRequest.GetConfig, new VhostUserConfig(252, 0, new byte[8])).Violation);
        Assert.Equal(VhostUserViolation.ConfigOutOfRange, f.Refused(VhostUserRequest.SetConfig, new VhostUserConfig(uint.MaxValue, 0, new byte[8])).Violation);
        var reply = Assert.IsType<VhostUserConfig>(f.Send(VhostUserRequest.GetConfig, new VhostUserConfig(12, 0, new byte[4])).Reply);
        Assert.Equal(BitConverter.GetBytes(126u), reply.Data.ToArray());
        f.Send(VhostUserRequest.SetConfig, new VhostUserConfig(20, 0, new byte[] { 9 }));
        Assert.Equal(9, f.Config[20]);
    }

    [Fact]
    public void A_config_read_past_what_the_device_defines_reads_zeroes()
    {
        // QEMU reads the whole struct virtio_blk_config; a device that defines less answers the rest with zeroes.
        using var f = new SessionFixture().Negotiated();
        int defined = f.Config.Length;
        var reply = Assert.IsType<VhostUserConfig>(f.Send(VhostUserRequest.GetConfig, new VhostUserConfig(0, 0, new byte[defined + 16])).Reply);
        Assert.Equal(f.Config, reply.Data[..defined].ToArray());
        Assert.Equal(new byte[16], reply.Data[defined..].ToArray());
    }

    [Fact]
    public void With_reply_ack_a_refusal_is_a_non_zero_status_and_changes_nothing()
    {
        using var f = new SessionFixture().Negotiated();
        VhostUserOutcome ok = f.Send(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: true), needReply: true);
        Assert.Equal(new VhostUserU64(0), ok.Reply);
        Assert.Null(ok.Rejection);

        VhostUserOutcome refused = f.Send(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 256), needReply: true);
        Assert.Equal(new VhostUserU64(VhostUserOutcome.AckFailure), refused.Reply);
        Assert.Equal(VhostUserViolation.MemoryTableMissing, refused.Rejection!.Violation);
        Assert.Null(f.Session.Vrings[0].Size);

        // Without NEED_REPLY there is nothing to report through: the refusal is thrown and the caller disconnects.
        Assert.Equal(VhostUserViolation.MemoryTableMissing, f.Refused(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 256)).Violation);
        // Requests with replies of their own never get an ack instead.
        Assert.Equal(new VhostUserU64(2), f.Send(VhostUserRequest.GetQueueNum, needReply: true).Reply);
    }

    [Fact]
    public void Without_reply_ack_negotiated_need_reply_is_not_answered()
    {
        using var f = new SessionFixture(protocol: VhostUserProtocolFeatures.MultiQueue).Negotiated();
        Assert.Null(f.Send(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: true), needReply: true).Reply);
        Assert.Throws<VhostUserProtocolException>(() => f.Send(VhostUserRequest.SetVringNum, new VhostUserVringState(0, 256), needReply: true));
    }

    [Fact]
    public void A_ring_runs_once_started_and_enabled_and_get_vring_base_stops_it_with_the_servers_index()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        f.ConfigureRing(1, start: 5);
        Assert.Empty(f.Control.Started); // VHOST_USER_F_PROTOCOL_FEATURES: rings wait for SET_VRING_ENABLE
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(1, 1));
        VhostUserRingStart start = Assert.Single(f.Control.Started);
        Assert.Equal(1, start.Index);
        Assert.Equal((ushort)5, start.Base);
        Assert.Same(f.Session.Memory, start.Memory);
        Assert.Equal(GuestBase + 0x3000, start.Layout.DescriptorTable);
        Assert.Equal(VirtqueueFeatures.EventIndex, start.Features);
        Assert.NotNull(start.Kick);

        f.Control.StopIndex = 42;
        var reply = f.Send(VhostUserRequest.GetVringBase, new VhostUserVringState(1, 0)).Reply;
        Assert.Equal(new VhostUserVringState(1, 42), reply);
        Assert.Equal([1], f.Control.Stopped);
        Assert.False(f.Session.Vrings[1].Running);
        Assert.Equal(1, OpenCopies(f.Marker)); // the kick went with the stop; the call stays
    }

    [Fact]
    public void Without_protocol_features_acked_rings_start_enabled()
    {
        using var f = new SessionFixture();
        f.Send(VhostUserRequest.GetFeatures);
        f.Send(VhostUserRequest.SetFeatures, new VhostUserU64(VhostUserFeatures.Version1));
        f.Send(VhostUserRequest.SetOwner);
        using MemoryMapping front = f.SetMemoryTable();
        f.ConfigureRing(0);
        // Started by the kick, then restarted when CALL replaced the descriptor the server was holding.
        Assert.True(f.Session.Vrings[0].Running);
        Assert.Equal(2, f.Control.Started.Count);
        Assert.Equal([0], f.Control.Stopped);
        Assert.Same(f.Session.Vrings[0].Call, f.Control.Started[^1].Call);
        Assert.NotNull(f.Control.Started[^1].Call);
    }

    [Fact]
    public void A_new_memory_table_stops_running_rings_first_then_restarts_them_on_the_new_memory()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping first = f.SetMemoryTable();
        f.ConfigureRing(0);
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 1));
        var oldMemory = f.Session.Memory!;
        f.Control.StopIndex = 9;

        using MemoryMapping second = f.SetMemoryTable(guestBase: 0x40_0000);
        Assert.Equal([0], f.Control.Stopped);
        Assert.Equal(1, f.Control.MemoryChanges);
        Assert.Equal(2, f.Control.Started.Count);
        VhostUserRingStart restart = f.Control.Started[1];
        Assert.NotSame(oldMemory, restart.Memory);
        Assert.Equal(0x40_0000UL, restart.Layout.DescriptorTable);
        Assert.Equal((ushort)9, restart.Base);
        Assert.True(oldMemory.Regions[0].Mapping!.IsClosed);
    }

    [Fact]
    public void A_new_memory_table_that_loses_a_configured_ring_is_refused()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping first = f.SetMemoryTable();
        f.ConfigureRing(0);
        var before = f.Session.Memory;
        FileDescriptor memfd = MemFd.Create(f.Marker, RegionSize);
        var refused = f.Refused(VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(0, RegionSize, 0x5000_0000, 0)]), memfd);
        Assert.Equal(VhostUserViolation.RingAddressUntranslatable, refused.Violation);
        Assert.Same(before, f.Session.Memory);
        Assert.Equal(0, f.Control.MemoryChanges);
    }

    [Theory]
    [InlineData(VhostUserRequest.ResetOwner)]
    [InlineData(VhostUserRequest.ResetDevice)]
    public void Resets_stop_rings_and_release_memory_and_every_descriptor(VhostUserRequest reset)
    {
        using var f = new SessionFixture().Negotiated();
        using (MemoryMapping front = f.SetMemoryTable())
        {
            f.ConfigureRing(0);
            f.ConfigureRing(1);
            f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 1));
            var memory = f.Session.Memory!;
            Assert.Equal(4, OpenCopies(f.Marker));

            f.Send(reset);
            Assert.Equal([0], f.Control.Stopped);
            Assert.Equal(1, f.Control.MemoryChanges);
            Assert.Null(f.Session.Memory);
            Assert.True(memory.Regions[0].Mapping!.IsClosed);
            Assert.Equal(0, OpenCopies(f.Marker));
            Assert.Equal(0UL, f.Session.AckedFeatures);
            Assert.Equal(reset == VhostUserRequest.ResetDevice, f.Session.HasOwner);
        }
    }

    [Fact]
    public void Disposing_the_session_on_disconnect_releases_everything()
    {
        var f = new SessionFixture().Negotiated();
        MemoryMapping front = f.SetMemoryTable();
        f.ConfigureRing(0);
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 1));
        var memory = f.Session.Memory!;
        f.Dispose();
        front.Dispose();
        Assert.Equal([0], f.Control.Stopped);
        Assert.True(memory.Regions[0].Mapping!.IsClosed);
        Assert.Equal(0, OpenCopies(f.Marker));
        Assert.Throws<ObjectDisposedException>(() => f.Send(VhostUserRequest.GetFeatures));
    }
}
