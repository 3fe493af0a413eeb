using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using static Lguest.Native.Tests.VhostUser.SessionFixture;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>
/// What a hostile front end hands over in place of eventfds and sealed memory is refused before anything changes:
/// the ring keeps being served with its old descriptors, and nothing it sent is kept.
/// </summary>
public sealed class VhostUserHostileFdTests
{
    [Fact]
    public void A_kick_without_a_descriptor_is_refused_and_the_running_ring_keeps_its_kick()
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        f.ConfigureRing(0);
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 1));
        FileDescriptor kick = f.Session.Vrings[0].Kick!;

        VhostUserOutcome refused = f.Send(VhostUserRequest.SetVringKick, new VhostUserVringFile(0, NoFd: true), needReply: true);

        Assert.Equal(VhostUserViolation.VringFileInvalid, refused.Rejection!.Violation);
        Assert.Equal(new VhostUserU64(VhostUserOutcome.AckFailure), refused.Reply);
        Assert.True(f.Session.Vrings[0].Running);
        Assert.Empty(f.Control.Stopped);
        Assert.Same(kick, f.Session.Vrings[0].Kick);
        Assert.False(kick.IsClosed);
    }

    [Theory]
    [InlineData(VhostUserRequest.SetVringKick)]
    [InlineData(VhostUserRequest.SetVringCall)]
    [InlineData(VhostUserRequest.SetVringErr)]
    public void A_vring_file_that_is_not_an_eventfd_is_refused_by_kind(VhostUserRequest request)
    {
        using var f = new SessionFixture().Negotiated();
        using MemoryMapping front = f.SetMemoryTable();
        f.ConfigureRing(0);
        f.Send(VhostUserRequest.SetVringEnable, new VhostUserVringState(0, 1));
        (FileDescriptor read, FileDescriptor write) = Pipe.Create(0);
        write.Dispose();

        VhostUserProtocolException refused = f.Refused(request, new VhostUserVringFile(0, NoFd: false), read);

        Assert.Equal(VhostUserViolation.VringFileInvalid, refused.Violation);
        Assert.Contains("pipe:", refused.Message, StringComparison.Ordinal);
        Assert.True(f.Session.Vrings[0].Running);
        Assert.Empty(f.Control.Stopped);
    }

    [Fact]
    public void A_semaphore_eventfd_is_refused()
    {
        using var f = new SessionFixture().Negotiated();
        int number = Tmds.Linux.LibC.eventfd(0, Tmds.Linux.LibC.EFD_SEMAPHORE | Tmds.Linux.LibC.EFD_CLOEXEC);
        Assert.True(number >= 0);
        VhostUserProtocolException refused = f.Refused(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: false), FileDescriptor.Adopt(number));
        Assert.Equal(VhostUserViolation.VringFileInvalid, refused.Violation);
        Assert.Contains("semaphore", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_accepted_eventfd_is_made_non_blocking()
    {
        using var f = new SessionFixture().Negotiated();
        using EventFd call = EventFd.Create();
        f.Send(VhostUserRequest.SetVringCall, new VhostUserVringFile(0, NoFd: false), false, call.Descriptor.Duplicate());
        // The flag lives on the open file, which the front end's copy shares: a read of the empty counter returns at once.
        Assert.Equal(0UL, call.Drain());
    }

    [Fact]
    public void Memory_that_can_shrink_under_the_mapping_is_refused()
    {
        using var f = new SessionFixture().Negotiated();
        using FileDescriptor unsealed = MemFd.Create(f.Marker, RegionSize, sealSize: false);
        VhostUserProtocolException refused = f.Refused(
            VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(GuestBase, RegionSize, UserBase, 0)]), unsealed.Duplicate());
        Assert.Equal(VhostUserViolation.MemoryRegionUnsafe, refused.Violation);
        Assert.Contains("F_SEAL_SHRINK", refused.Message, StringComparison.Ordinal);
        Assert.Null(f.Session.Memory);
    }

    [Fact]
    public void A_regular_file_or_a_directory_as_memory_is_refused_by_kind()
    {
        using var f = new SessionFixture().Negotiated();
        string path = Path.Combine(Path.GetTempPath(), VhostUserTestSupport.NewMarker());
        File.WriteAllBytes(path, new byte[RegionSize]);
        try
        {
            foreach (FileDescriptor fd in new[] { FileDescriptor.Open(path, 0), FileDescriptor.Open("/", 0) })
            {
                VhostUserProtocolException refused = f.Refused(
                    VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(GuestBase, RegionSize, UserBase, 0)]), fd);
                Assert.Equal(VhostUserViolation.MemoryRegionUnsafe, refused.Violation);
                Assert.Contains("not a memfd", refused.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_region_the_address_space_cannot_hold_is_refused_not_thrown_as_a_host_failure()
    {
        using var f = new SessionFixture().Negotiated();
        const ulong huge = 1UL << 47; // 128 TiB: the whole user address space of x86-64
        using FileDescriptor memfd = MemFd.Create(f.Marker, huge);
        VhostUserProtocolException refused = f.Refused(
            VhostUserRequest.SetMemTable, new VhostUserMemoryTable([new VhostUserMemoryRegion(GuestBase, huge, UserBase, 0)]), memfd.Duplicate());
        Assert.Equal(VhostUserViolation.MemoryRegionUnmappable, refused.Violation);
    }
}
