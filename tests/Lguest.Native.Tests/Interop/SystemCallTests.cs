using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class SystemCallTests
{
    [Fact]
    public void Opening_a_missing_file_reports_ENOENT_and_names_the_path()
    {
        string path = $"/nonexistent-{Guid.NewGuid():N}/disk.img";

        var e = Assert.Throws<SystemCallException>(() => FileDescriptor.Open(path, LibC.O_RDONLY));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Equal(2, e.Errno);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Operation, StringComparison.Ordinal);
        Assert.Contains("errno 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_descriptor_reports_EBADF_through_the_same_path()
    {
        // A closed-number descriptor: fdatasync on a number nobody holds fails in the kernel, not in managed code.
        using var stale = new FileDescriptor(987_654, ownsHandle: false);

        var e = Assert.Throws<SystemCallException>(() => FileIo.Fdatasync(stale));

        Assert.Equal(Errno.EBADF, e.Errno);
    }

    [Fact]
    public void Errno_descriptions_carry_the_number()
    {
        Assert.Contains("errno 85", Errno.Describe(Errno.ERESTART), StringComparison.Ordinal);
        Assert.Contains("errno 99999", Errno.Describe(99999), StringComparison.Ordinal);
    }
}
