using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

/// <summary>
/// What the event loop relies on: an edge-triggered eventfd is reported once per write and never needs reading, a
/// level-triggered descriptor until it is drained, each under the caller's token; and epoll's refusals are errors.
/// </summary>
public sealed class EPollTests
{
    [Fact]
    public void An_edge_triggered_eventfd_is_reported_once_per_write_without_ever_being_read()
    {
        using EPoll epoll = EPoll.Create();
        using EventFd kick = EventFd.Create(nonBlocking: true);
        epoll.Add(kick.Descriptor, 7, EPollTrigger.Edge);
        Span<EPollReady> ready = stackalloc EPollReady[4];

        for (int write = 1; write <= 3; write++)
        {
            kick.Signal();
            Assert.Equal(1, epoll.Wait(ready, block: true));
            Assert.Equal(7UL, ready[0].Token);
            Assert.Equal(0, epoll.Wait(ready, block: false)); // the counter is not zero, and still nothing new
        }
        Assert.Equal(3UL, kick.Drain()); // nobody read it: every write is still counted
    }

    [Fact]
    public void A_level_triggered_descriptor_is_reported_until_it_is_drained()
    {
        using EPoll epoll = EPoll.Create();
        using EventFd source = EventFd.Create(nonBlocking: true);
        epoll.Add(source.Descriptor, 3, EPollTrigger.Level);
        Span<EPollReady> ready = stackalloc EPollReady[4];

        Assert.Equal(0, epoll.Wait(ready, block: false));
        source.Signal();
        Assert.Equal(1, epoll.Wait(ready, block: false));
        Assert.Equal(1, epoll.Wait(ready, block: false));
        Assert.Equal(3UL, ready[0].Token);
        source.Drain();
        Assert.Equal(0, epoll.Wait(ready, block: false));
    }

    [Fact]
    public void Reports_only_what_is_ready_and_forgets_what_was_removed()
    {
        using EPoll epoll = EPoll.Create();
        using EventFd first = EventFd.Create(nonBlocking: true);
        using EventFd second = EventFd.Create(nonBlocking: true);
        epoll.Add(first.Descriptor, 1, EPollTrigger.Edge);
        epoll.Add(second.Descriptor, 2, EPollTrigger.Edge);
        Span<EPollReady> ready = stackalloc EPollReady[4];

        second.Signal();
        Assert.Equal(1, epoll.Wait(ready, block: true));
        Assert.Equal(2UL, ready[0].Token);

        epoll.Remove(second.Descriptor);
        second.Signal();
        first.Signal();
        Assert.Equal(1, epoll.Wait(ready, block: true));
        Assert.Equal(1UL, ready[0].Token);
    }

    [Fact]
    public void A_regular_file_is_refused_with_EPERM_and_a_second_add_with_EEXIST()
    {
        string path = Path.GetTempFileName();
        try
        {
            using EPoll epoll = EPoll.Create();
            using FileDescriptor file = FileDescriptor.Open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
            Assert.Equal(Errno.EPERM, Assert.Throws<SystemCallException>(() => epoll.Add(file, 1, EPollTrigger.Level)).Errno);

            using EventFd kick = EventFd.Create(nonBlocking: true);
            epoll.Add(kick.Descriptor, 1, EPollTrigger.Edge);
            Assert.Equal(Errno.EEXIST, Assert.Throws<SystemCallException>(() => epoll.Add(kick.Descriptor, 2, EPollTrigger.Edge)).Errno);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_closed_descriptor_cannot_be_added()
    {
        using EPoll epoll = EPoll.Create();
        EventFd kick = EventFd.Create(nonBlocking: true);
        kick.Dispose();
        Assert.Throws<ObjectDisposedException>(() => epoll.Add(kick.Descriptor, 1, EPollTrigger.Edge));
    }
}
