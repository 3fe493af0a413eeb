using System.Diagnostics;
using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class PollTests
{
    [Fact]
    public void Nothing_ready_times_out_after_the_timeout_and_reports_nothing()
    {
        using var kick = EventFd.Create(nonBlocking: true);
        using var stop = EventFd.Create(nonBlocking: true);
        Span<bool> readable = [true, true];
        var clock = Stopwatch.StartNew();

        int ready = Poll.WaitReadable([kick.Descriptor, stop.Descriptor], readable, TimeSpan.FromMilliseconds(80));

        Assert.Equal(0, ready);
        Assert.False(readable[0]);
        Assert.False(readable[1]);
        Assert.True(clock.ElapsedMilliseconds >= 75, $"returned after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void A_zero_timeout_polls_without_waiting()
    {
        using var kick = EventFd.Create(nonBlocking: true);
        Assert.False(Poll.WaitReadable(kick.Descriptor, TimeSpan.Zero));
        kick.Signal();
        Assert.True(Poll.WaitReadable(kick.Descriptor, TimeSpan.Zero));
    }

    [Fact]
    public void Reports_exactly_which_descriptors_are_readable()
    {
        using var kick = EventFd.Create(nonBlocking: true);
        using var stop = EventFd.Create(nonBlocking: true);
        using var idle = EventFd.Create(nonBlocking: true);
        stop.Signal();
        Span<bool> readable = stackalloc bool[3];

        int ready = Poll.WaitReadable([kick.Descriptor, stop.Descriptor, idle.Descriptor], readable, Timeout.InfiniteTimeSpan);

        Assert.Equal(1, ready);
        Assert.Equal([false, true, false], readable.ToArray());
    }

    [Fact]
    public async Task An_infinite_wait_wakes_when_another_thread_signals()
    {
        using var kick = EventFd.Create(nonBlocking: true);
        using var stop = EventFd.Create(nonBlocking: true);
        var task = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<bool[]> waiter = Task.Factory.StartNew(
            () =>
            {
                var readable = new bool[2];
                task.SetResult(BlockedThread.Current());
                Poll.WaitReadable([kick.Descriptor, stop.Descriptor], readable, Timeout.InfiniteTimeSpan);
                return readable;
            },
            TaskCreationOptions.LongRunning);

        // Asleep in poll with nothing signalled: only the kick below can wake it.
        BlockedThread.WaitUntilAsleepIn(await task.Task, BlockedThread.Waits);
        Assert.False(waiter.IsCompleted);
        kick.Signal();

        bool[] result = await waiter.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { true, false }, result);
    }

    [Fact]
    public void A_pipe_whose_writer_closed_counts_as_readable()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using (read)
        {
            Assert.False(Poll.WaitReadable(read, TimeSpan.FromMilliseconds(10)));
            write.Dispose();
            Assert.True(Poll.WaitReadable(read, TimeSpan.FromSeconds(5)));
            Assert.Equal(0, FileIo.Read(read, new byte[1]));
        }
    }

    [Fact]
    public void Writable_reports_a_full_pipe_as_not_writable()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create(LibC.O_NONBLOCK);
        using (read)
        using (write)
        {
            Assert.True(Poll.WaitWritable(write, TimeSpan.Zero));
            int capacity = Pipe.SetCapacity(write, 4096);
            Assert.Equal(capacity, FileIo.Write(write, new byte[capacity]));
            Assert.False(Poll.WaitWritable(write, TimeSpan.FromMilliseconds(10)));
        }
    }

    [Fact]
    public void Events_are_reported_raw_by_Wait()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using (read)
        using (write)
        {
            Span<PollEvents> returned = stackalloc PollEvents[2];
            int n = Poll.Wait([read, write], PollEvents.In | PollEvents.Out, returned, TimeSpan.Zero);
            Assert.Equal(1, n);
            Assert.Equal(PollEvents.None, returned[0]);
            Assert.Equal(PollEvents.Out, returned[1]);
        }
    }

    [Fact]
    public void A_negative_timeout_other_than_infinite_is_refused()
    {
        using var kick = EventFd.Create(nonBlocking: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => Poll.WaitReadable(kick.Descriptor, TimeSpan.FromMilliseconds(-5)));
    }

    [Fact]
    public void A_disposed_descriptor_is_refused_before_poll_sees_its_number()
    {
        var kick = EventFd.Create(nonBlocking: true);
        kick.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Poll.WaitReadable(kick.Descriptor, TimeSpan.Zero));
    }
}
