using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class IoUringTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public unsafe void A_writev_and_a_readv_through_the_ring_round_trip_a_temp_file()
    {
        using var file = new TempFile(size: 16384);
        using var ring = IoUring.Create(8);
        byte[] first = Pattern(1000, 1), second = Pattern(3096, 2);
        var back = new byte[4096];
        fixed (byte* a = first, b = second, into = back)
        {
            IoVector[] outv = [new((nint)a, 1000), new((nint)b, 3096)];
            Assert.True(ring.TryPrepareWriteV(file.Descriptor, outv, 4096, userData: 7));
            ring.WaitForCompletions(1);
            Assert.True(ring.TryReap(out ulong written, out int result));
            Assert.Equal((7UL, 4096), (written, result));

            IoVector[] inv = [new((nint)into, 4096)];
            Assert.True(ring.TryPrepareReadV(file.Descriptor, inv, 4096, userData: 8));
            ring.WaitForCompletions(1);
            Assert.True(ring.TryReap(out ulong read, out result));
            Assert.Equal((8UL, 4096), (read, result));
        }
        Assert.Equal([.. first, .. second], back);
        Assert.Equal([.. first, .. second], File.ReadAllBytes(file.Path).AsSpan(4096, 4096).ToArray());
        Assert.False(ring.TryReap(out _, out _));
    }

    [Fact]
    public unsafe void A_full_submission_ring_refuses_more_until_submitted_and_every_completion_arrives_once()
    {
        using var file = new TempFile(size: 64 * 512);
        using var ring = IoUring.Create(4);
        byte[] data = Pattern(512, 3);
        var seen = new HashSet<ulong>();
        fixed (byte* p = data)
        {
            IoVector[] vector = [new((nint)p, 512)];
            ulong next = 0;
            for (int round = 0; round < 4; round++)
            {
                // More completions than the completion ring holds pile up unreaped: the kernel keeps them (NODROP).
                while (ring.TryPrepareWriteV(file.Descriptor, vector, (long)next * 512, next))
                {
                    next++;
                }
                Assert.Equal(ring.SubmissionEntries, ring.Unsubmitted);
                ring.Submit();
                Assert.Equal(0U, ring.Unsubmitted);
            }
            Assert.Equal(16UL, next);
            ring.WaitForCompletions(ring.CompletionEntries);
            while (seen.Count < (int)next)
            {
                if (ring.TryReap(out ulong user, out int result))
                {
                    Assert.Equal(512, result);
                    Assert.True(seen.Add(user), $"completion {user} arrived twice");
                }
                else
                {
                    ring.WaitForCompletions(1);
                }
            }
        }
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (ulong)i), seen.Order());
        byte[] all = File.ReadAllBytes(file.Path);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(data, all.AsSpan(i * 512, 512).ToArray());
        }
    }

    [Fact]
    public unsafe void A_write_to_a_read_only_descriptor_completes_with_EBADF_instead_of_throwing()
    {
        using var file = new TempFile(size: 4096);
        using FileDescriptor readOnly = FileDescriptor.Open(file.Path, LibC.O_RDONLY);
        using var ring = IoUring.Create(2);
        byte[] data = Pattern(512, 4);
        fixed (byte* p = data)
        {
            IoVector[] vector = [new((nint)p, 512)];
            Assert.True(ring.TryPrepareWriteV(readOnly, vector, 0, userData: 99));
            ring.WaitForCompletions(1);
        }
        Assert.True(ring.TryReap(out ulong user, out int result));
        Assert.Equal((99UL, -Errno.EBADF), (user, result));
        Assert.Equal(new byte[4096], File.ReadAllBytes(file.Path));
    }

    [Fact]
    public unsafe void The_registered_eventfd_is_signalled_when_a_completion_arrives()
    {
        using var file = new TempFile(size: 4096);
        using var ring = IoUring.Create(2);
        using var completions = EventFd.Create(nonBlocking: true);
        ring.RegisterEventFd(completions);
        byte[] data = Pattern(512, 5);
        fixed (byte* p = data)
        {
            IoVector[] vector = [new((nint)p, 512)];
            Assert.True(ring.TryPrepareWriteV(file.Descriptor, vector, 0, userData: 1));
            ring.WaitForCompletions(1);
        }
        Assert.True(completions.Drain() >= 1);
        Assert.Equal(1U, ring.CompletionsReady);
    }

    [Fact]
    public void Zero_entries_is_refused_before_the_kernel_is_asked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IoUring.Create(0));
    }
}
