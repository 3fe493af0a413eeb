using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

/// <summary>
/// Works on a fixed high descriptor number: the kernel hands out the lowest free number, so tests running in
/// parallel never get one this high and cannot reuse it behind our back.
/// </summary>
public sealed class FileDescriptorTests
{
    private const int High = 913;

    private static bool IsOpen(int number) => Tmds.Linux.LibC.fcntl(number, LibC.F_GETFD, 0) >= 0;

    private static FileDescriptor OpenAt(int number)
    {
        using FileDescriptor devNull = FileDescriptor.Open("/dev/null", LibC.O_RDWR);
        Assert.False(IsOpen(number), $"fd {number} is unexpectedly in use");
        Assert.Equal(number, Tmds.Linux.LibC.dup2(devNull.Number, number));
        return FileDescriptor.Adopt(number);
    }

    [Fact]
    public void Dispose_closes_exactly_once_even_when_the_number_is_reused()
    {
        FileDescriptor first = OpenAt(High);
        Assert.True(IsOpen(High));

        first.Dispose();
        Assert.False(IsOpen(High));
        Assert.True(first.IsClosed);

        // The number comes back for someone else; a second Dispose of the old owner must not close theirs.
        using FileDescriptor second = OpenAt(High);
        first.Dispose();
        Assert.True(IsOpen(High));
        Assert.Equal(0, FileIo.Write(second, ReadOnlySpan<byte>.Empty));

        second.Dispose();
        Assert.False(IsOpen(High));
    }

    [Fact]
    public void A_lease_keeps_the_number_open_across_a_concurrent_dispose()
    {
        FileDescriptor fd = OpenAt(High + 1);
        FileDescriptor.Lease lease = fd.Borrow();

        fd.Dispose();
        Assert.True(IsOpen(High + 1));
        Assert.Equal(High + 1, lease.Number);

        lease.Dispose();
        Assert.False(IsOpen(High + 1));
        Assert.Throws<ObjectDisposedException>(() => fd.Borrow());
    }
}
