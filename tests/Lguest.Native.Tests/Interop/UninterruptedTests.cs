using Lguest.Native.Interop;
using Lguest.Native.Lguest;

namespace Lguest.Native.Tests.Interop;

/// <summary>
/// A signal that lands while a thread sits in a system call must not surface as a failure: the run loop's wake
/// signal is installed without SA_RESTART, so every blocking call on such a thread really does see EINTR.
/// </summary>
public sealed class UninterruptedTests
{
    private const int SysGettid = 186;
    private const string ReadSyscall = "0 "; // /proc/.../syscall starts with the number of the call in progress

    [Fact]
    public void A_blocking_eventfd_read_cut_short_by_a_signal_is_made_again_and_returns_the_signal_count()
    {
        using var doorbell = EventFd.Create();
        LguestTask? reader = null;
        int tid = 0;
        ulong drained = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            tid = (int)Tmds.Linux.LibC.syscall(SysGettid);
            reader = HostLguestSyscalls.Instance.CurrentTask();
            try
            {
                drained = doorbell.Drain();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();

        // Interrupt the read three times, each time only once the thread is seen inside read(2), so every signal
        // cuts a read short; a helper that gave up on EINTR would end the thread with a SystemCallException.
        for (int interruptions = 0; interruptions < 3; interruptions++)
        {
            WaitUntilBlockedInRead(thread, () => tid);
            HostLguestSyscalls.Instance.SignalTask(reader!.Value);
        }
        WaitUntilBlockedInRead(thread, () => tid);
        doorbell.Signal(5);
        thread.Join();

        Assert.Null(failure);
        Assert.Equal(5UL, drained);
    }

    private static void WaitUntilBlockedInRead(Thread thread, Func<int> tid)
    {
        SpinWait spin = default;
        while (true)
        {
            Assert.True(thread.IsAlive, "the reader ended before it was signalled");
            int id = tid();
            if (id != 0 && IsAsleepInRead(id))
            {
                return;
            }
            spin.SpinOnce(sleep1Threshold: 10);
        }

        static bool IsAsleepInRead(int id)
        {
            try
            {
                string state = File.ReadAllText($"/proc/self/task/{id}/stat");
                string call = File.ReadAllText($"/proc/self/task/{id}/syscall");
                // State after the command name's closing parenthesis: S means asleep in the kernel.
                return state[(state.LastIndexOf(')') + 2)..].StartsWith('S') && call.StartsWith(ReadSyscall, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        }
    }
}
