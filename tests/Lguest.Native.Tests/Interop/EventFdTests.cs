using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class EventFdTests
{
    [Fact]
    public void Signals_accumulate_and_a_drain_clears_them()
    {
        using var e = EventFd.Create(nonBlocking: true);

        e.Signal();
        e.Signal(4);

        Assert.Equal(5UL, e.Drain());
        Assert.Equal(0UL, e.Drain());
    }

    [Fact]
    public void A_non_blocking_drain_of_an_unsignalled_eventfd_returns_zero()
    {
        using var e = EventFd.Create(nonBlocking: true);

        Assert.Equal(0UL, e.Drain());
    }

    [Fact]
    public async Task A_blocking_drain_waits_for_a_signal_from_another_thread()
    {
        using var e = EventFd.Create();
        var task = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<ulong> drain = Task.Factory.StartNew(
            () =>
            {
                task.SetResult(BlockedThread.Current());
                return e.Drain();
            },
            TaskCreationOptions.LongRunning);

        // Asleep in read with the counter at zero: only the signal below can wake it.
        BlockedThread.WaitUntilAsleepIn(await task.Task, BlockedThread.Waits);
        Assert.False(drain.IsCompleted);
        e.Signal(3);

        Assert.Equal(3UL, await drain.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
