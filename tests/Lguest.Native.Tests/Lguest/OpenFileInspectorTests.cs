using Lguest.Native.Interop;
using Lguest.Native.Lguest;

namespace Lguest.Native.Tests.Lguest;

public sealed class OpenFileInspectorTests
{
    [Fact]
    public void An_eventfd_a_pipe_and_a_descriptor_that_is_not_open_are_told_apart()
    {
        using var inspector = new OpenFileInspector();
        using var eventFd = EventFd.Create();
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using (read)
        using (write)
        {
            Assert.Equal("anon_inode:[eventfd]", inspector.Describe(eventFd.Descriptor.Number));
            Assert.StartsWith("pipe:[", inspector.Describe(read.Number), StringComparison.Ordinal);
        }

        // A number no test opens (a closed one could be reused at once by a test running alongside).
        Assert.Null(inspector.Describe(int.MaxValue));
        Assert.Null(inspector.Describe(-1));
    }
}
