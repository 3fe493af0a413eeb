using System.Runtime.InteropServices;

namespace Lguest.Native.Tests.Interop;

/// <summary>
/// Proves a thread is asleep in a system call, from the kernel's own account of it (/proc/.../task/TID/stat and
/// .../syscall), so a test can assert "nothing woke it yet" at a moment the kernel vouches for, instead of after a sleep
/// that a loaded machine turns into "the thread had not even started".
/// </summary>
internal static class BlockedThread
{
    /// <summary>x86-64 numbers of the calls our waits block in: read, poll, recvmsg, epoll_wait, ppoll, epoll_pwait.</summary>
    public static readonly long[] Waits = [0, 7, 47, 232, 271, 281];

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>The calling thread's /proc directory (/proc/PID/task/TID), for another thread to watch.</summary>
    public static string Current() => Path.Combine("/proc", new FileInfo("/proc/thread-self").LinkTarget!);

    /// <summary>
    /// Returns once <paramref name="task"/> is sleeping in one of <paramref name="syscalls"/> (on x86-64; in any
    /// system call elsewhere, where the numbers differ); throws after a generous bound.
    /// </summary>
    public static void WaitUntilAsleepIn(string task, params long[] syscalls)
    {
        DateTime deadline = DateTime.UtcNow + Bound;
        while (!IsAsleepIn(task, syscalls))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{task} never went to sleep in a system call");
            }
            Thread.Sleep(1);
        }
    }

    private static bool IsAsleepIn(string task, long[] syscalls)
    {
        // stat: "pid (comm) S ...": the state follows the last ')', as comm may hold spaces or parentheses.
        string stat = File.ReadAllText(Path.Combine(task, "stat"));
        if (stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() != 'S')
        {
            return false;
        }
        // syscall: the number of the call the task is blocked in, then its arguments; "running" otherwise.
        string first = File.ReadAllText(Path.Combine(task, "syscall")).Split(' ', 2)[0];
        return long.TryParse(first, out long number)
            && (RuntimeInformation.ProcessArchitecture != Architecture.X64 || syscalls.Contains(number));
    }
}
