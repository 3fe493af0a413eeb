using Lguest.Native.Interop;
using Lguest.Native.Lguest;
using Lguest.Native.Tests.Interop;

namespace Lguest.Native.Tests.Lguest;

public sealed class LguestChannelTests
{
    private static nuint[] ReadWords(FileDescriptor pipe, int count)
    {
        var bytes = new byte[count * nuint.Size];
        int at = 0;
        while (at < bytes.Length)
        {
            int n = FileIo.Read(pipe, bytes.AsSpan(at));
            Assert.NotEqual(0, n);
            at += n;
        }
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, nuint>(bytes).ToArray();
    }

    [Fact]
    public void Requests_are_written_as_native_words_in_one_write_each()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create(LibC.O_NONBLOCK);
        using FileDescriptor readEnd = read;
        using var channel = new LguestChannel(write, "test pipe");
        using var eventFd = EventFd.Create();

        channel.Initialize(0x4000_0000, 272, 0x100_0000);
        channel.Interrupt(31);
        channel.AttachEventFd(0x10_1000, eventFd);

        Assert.Equal([0, 0x4000_0000, 272, 0x100_0000], ReadWords(read, 4));
        Assert.Equal([2, 31], ReadWords(read, 2));
        Assert.Equal([4, 0x10_1000, (nuint)eventFd.Descriptor.Number], ReadWords(read, 3));
        Assert.Equal(0, Pipe.Available(read)); // and never LHREQ_BREAK (3): the seed's kernel refuses it with EINVAL
    }

    [Fact]
    public unsafe void The_wake_signal_interrupts_a_blocked_read_with_EINTR_instead_of_restarting_it()
    {
        // Nothing that runs here blocks in pread the way /dev/lguest does (eventfds, pipes and ttys refuse offsets),
        // so a blocking read of an eventfd at 0 stands in: a handler with SA_RESTART would restart it forever, and
        // no handler would kill the process. Ours must make it return EINTR, as the kernel's -ERESTARTSYS becomes.
        using var blocker = EventFd.Create();
        LguestTask? runner = null;
        long result = 0;
        int errno = 0;
        var thread = new Thread(() =>
        {
            runner = HostLguestSyscalls.Instance.CurrentTask();
            using FileDescriptor.Lease fd = blocker.Descriptor.Borrow();
            ulong value;
            result = Tmds.Linux.LibC.read(fd.Number, &value, sizeof(ulong));
            errno = SystemCall.LastErrno;
        });
        thread.Start();

        while (!thread.Join(TimeSpan.FromMilliseconds(20)))
        {
            if (runner is { } task)
            {
                HostLguestSyscalls.Instance.SignalTask(task); // repeated: one that lands before the read is spent in user space
            }
        }

        Assert.Equal(-1, result);
        Assert.Equal(Errno.EINTR, errno);
    }

    [Fact]
    public void Bad_requests_are_refused_before_anything_is_written()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create(LibC.O_NONBLOCK);
        using FileDescriptor readEnd = read;
        using var channel = new LguestChannel(write, "test pipe");
        using var eventFd = EventFd.Create();

        Assert.Throws<ArgumentOutOfRangeException>(() => channel.Interrupt(32));
        Assert.Throws<ArgumentOutOfRangeException>(() => channel.AttachEventFd(0, eventFd));
        Assert.Equal(0, Pipe.Available(read));
    }

    [Fact]
    public void A_full_word_from_the_run_read_is_a_notify_address()
    {
        using var file = new TempFile();
        byte[] word = nuint.Size == 8 ? BitConverter.GetBytes(0x10_1000UL) : BitConverter.GetBytes(0x10_1000U);
        File.WriteAllBytes(file.Path, [.. word, .. word]);
        using var channel = new LguestChannel(file.Descriptor, file.Path);

        Assert.Equal(new LguestRunOutcome.Notify(0x10_1000), channel.Run());
        Assert.Equal(new LguestRunOutcome.Notify(0x10_1000), channel.Run()); // always CPU 0's offset, never the file position
    }

    [Fact]
    public void A_short_run_read_is_an_error_not_an_address()
    {
        using var file = new TempFile(size: 3);
        using var channel = new LguestChannel(file.Descriptor, file.Path);

        var e = Assert.Throws<IOException>(() => channel.Run());
        Assert.Contains("read 3 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_failure_other_than_death_or_restart_is_a_system_call_error()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using FileDescriptor writeEnd = write;
        using var channel = new LguestChannel(read, "test pipe");

        var e = Assert.Throws<SystemCallException>(() => channel.Run());
        Assert.Equal(29, e.Errno); // ESPIPE: a pipe has no offsets
        Assert.Contains("test pipe", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ENOENT_means_the_guest_died_and_only_then_is_the_reason_read()
    {
        int asked = 0;
        string Reason()
        {
            asked++;
            return "Guest tried to poke a bad address";
        }

        LguestRunOutcome outcome = LguestChannel.Interpret(-1, Errno.ENOENT, 0, Reason, "/dev/lguest");

        Assert.Equal(new LguestRunOutcome.Died("Guest tried to poke a bad address"), outcome);
        Assert.Equal(1, asked);

        Assert.IsType<LguestRunOutcome.Notify>(LguestChannel.Interpret(nuint.Size, 0, 0x1000, Reason, "/dev/lguest"));
        Assert.IsType<LguestRunOutcome.Restart>(LguestChannel.Interpret(-1, Errno.ERESTART, 0, Reason, "/dev/lguest"));
        Assert.Equal(1, asked);
    }

    [Fact]
    public void ERESTART_is_85_and_means_restart()
    {
        Assert.Equal(85, Errno.ERESTART);
        Assert.Equal(new LguestRunOutcome.Restart(), LguestChannel.Interpret(-1, 85, 0, () => "", "/dev/lguest"));
    }

    [Fact]
    public void Any_other_errno_from_run_is_thrown_with_that_errno()
    {
        var e = Assert.Throws<SystemCallException>(() => LguestChannel.Interpret(-1, Errno.EINVAL, 0, () => "", "/dev/lguest"));
        Assert.Equal(Errno.EINVAL, e.Errno);
    }

    [Fact]
    public void The_death_reason_stops_at_the_first_NUL()
    {
        byte[] buffer = new byte[LguestAbi.DeathReasonLength];
        "Guest halted: bad page"u8.CopyTo(buffer);
        buffer[30] = (byte)'x';

        Assert.Equal("Guest halted: bad page", LguestChannel.DecodeReason(buffer));
        Assert.Equal("abc", LguestChannel.DecodeReason("abc"u8));
    }

    [Fact]
    public void Opening_a_missing_device_explains_that_lguest_is_gone_and_what_to_use_instead()
    {
        string path = $"/nonexistent-{Guid.NewGuid():N}/lguest";

        var e = Assert.Throws<LguestUnavailableException>(() => LguestChannel.Open(path));

        Assert.Equal(path, e.Path);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("/dev/lguest left Linux in 4.14", e.Message, StringComparison.Ordinal);
        Assert.Contains("32-bit x86 hosts", e.Message, StringComparison.Ordinal);
        Assert.Contains("pre-4.14 32-bit x86 host kernel with the lguest module loaded", e.Message, StringComparison.Ordinal);
        Assert.Contains("`simulated`", e.Message, StringComparison.Ordinal);
        Assert.Contains("`vhost-user` (with QEMU)", e.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.ENOENT, Assert.IsType<SystemCallException>(e.InnerException).Errno);
    }

    [Fact]
    public void Other_open_failures_are_not_mistaken_for_a_missing_lguest()
    {
        // A directory opened read-write is EISDIR: a real error, not "lguest is unavailable".
        var e = Assert.Throws<SystemCallException>(() => LguestChannel.Open("/tmp"));
        Assert.Equal(21, e.Errno);
    }
}
