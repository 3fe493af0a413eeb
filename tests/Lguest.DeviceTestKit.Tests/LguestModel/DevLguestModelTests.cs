using System.Runtime.InteropServices;
using Lguest.DeviceTestKit.LguestModel;
using Lguest.DeviceTestKit;
using Lguest.Native.Interop;
using Lguest.Native.Lguest;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit.Tests.LguestModel;

/// <summary>
/// Each rule of lguest_user.c's read() and write() as the model answers it, driven through raw system calls the way
/// a launcher would make them. Word sizes are the launcher's own (nuint).
/// </summary>
public sealed class DevLguestModelTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(1 << 20);

    [Fact]
    public void Nothing_but_INITIALIZE_is_accepted_before_INITIALIZE()
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = model.Open("/dev/lguest");

        Assert.Equal(-Errno.EINVAL, model.PRead(fd, new byte[nuint.Size], 0));
        Assert.Equal(-Errno.EINVAL, Write(model, fd, LguestAbi.LHREQ_IRQ, 1));
        Assert.Equal(-Errno.EINVAL, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x1000, 3));
    }

    [Fact]
    public void INITIALIZE_answers_three_words_and_a_second_one_is_EBUSY()
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = model.Open("/dev/lguest");

        Assert.Equal(3 * nuint.Size, Initialize(model, fd));
        Assert.Equal(-Errno.EBUSY, Initialize(model, fd));
    }

    [Fact]
    public void A_read_from_another_thread_than_the_one_that_INITIALIZEd_is_EPERM()
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = model.Open("/dev/lguest");
        long initialized = 0;
        var initializer = new Thread(() => initialized = Initialize(model, fd));
        initializer.Start();
        initializer.Join();
        Assert.Equal(3 * nuint.Size, initialized);

        Assert.Equal(-Errno.EPERM, model.PRead(fd, new byte[nuint.Size], 0));
    }

    [Theory]
    [InlineData(LguestAbi.LHREQ_GETDMA)]
    [InlineData(LguestAbi.LHREQ_BREAK)]
    [InlineData(5)]
    [InlineData(99)]
    public void Only_INITIALIZE_IRQ_and_EVENTFD_are_requests_everything_else_is_EINVAL(int request)
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = InitializedDevice(model);

        Assert.Equal(-Errno.EINVAL, Write(model, fd, (ulong)request, 1));
    }

    [Fact]
    public void Interrupt_lines_stop_at_31()
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = InitializedDevice(model);

        Assert.Equal(0, Write(model, fd, LguestAbi.LHREQ_IRQ, 31));
        Assert.Equal(-Errno.EINVAL, Write(model, fd, LguestAbi.LHREQ_IRQ, 32));
    }

    [Fact]
    public void An_eventfd_needs_a_nonzero_address_and_a_descriptor_that_is_an_eventfd()
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = InitializedDevice(model);
        using var kick = EventFd.Create();
        using (FileDescriptor read = FileDescriptor.Open("/dev/null", Tmds.Linux.LibC.O_RDONLY))
        {
            Assert.Equal(-Errno.EINVAL, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0, (ulong)kick.Descriptor.Number));
            Assert.Equal(-Errno.EINVAL, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x1000, (ulong)read.Number));
            Assert.Equal(-Errno.EBADF, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x1000, int.MaxValue));
            Assert.Equal(0, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x1000, (ulong)kick.Descriptor.Number));
        }
    }

    [Fact]
    public void The_eventfd_table_is_append_only_and_the_first_match_takes_the_kick()
    {
        using var first = EventFd.Create(nonBlocking: true);
        using var second = EventFd.Create(nonBlocking: true);
        using var kicked = new ManualResetEventSlim();
        using var model = new DevLguestModel(hv =>
        {
            hv.Notify(0x2000); // to the first eventfd: the guest runs on
            kicked.Set();
            hv.PowerOff();
        });
        int fd = InitializedDevice(model);
        Assert.Equal(0, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x2000, (ulong)first.Descriptor.Number));
        Assert.Equal(0, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x2000, (ulong)second.Descriptor.Number));
        first.Dispose(); // the kernel holds its own reference: closing ours changes nothing

        Assert.Equal(-Errno.ENOENT, model.PRead(fd, new byte[nuint.Size], 0)); // ran to the power-off, no NOTIFY returned

        Assert.True(kicked.IsSet);
        Assert.Equal(0UL, second.Drain()); // a later entry for the same address never sees a kick
        Assert.Equal(2, model.Guests.Single().EventFds.Count);
    }

    [Fact]
    public void The_eventfd_table_has_a_limit_and_answers_ENOMEM_past_it()
    {
        using var kick = EventFd.Create();
        using var model = new DevLguestModel(hv => hv.PowerOff(), eventFdLimit: 2);
        int fd = InitializedDevice(model);

        Assert.Equal(0, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x1000, (ulong)kick.Descriptor.Number));
        Assert.Equal(0, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x1000, (ulong)kick.Descriptor.Number));
        Assert.Equal(-Errno.ENOMEM, Write(model, fd, LguestAbi.LHREQ_EVENTFD, 0x2000, (ulong)kick.Descriptor.Number));
    }

    [Fact]
    public void An_unmatched_notify_is_one_word_holding_the_address_and_the_next_read_resumes_the_guest()
    {
        using var model = new DevLguestModel(hv =>
        {
            hv.Notify(0x10_1234);
            hv.Notify(0x10_5678);
            hv.PowerOff();
        });
        int fd = InitializedDevice(model);
        byte[] word = new byte[nuint.Size];

        Assert.Equal(nuint.Size, model.PRead(fd, word, 0));
        Assert.Equal((nuint)0x10_1234, MemoryMarshal.Read<nuint>(word));
        Assert.Equal(nuint.Size, model.PRead(fd, word, 0));
        Assert.Equal((nuint)0x10_5678, MemoryMarshal.Read<nuint>(word));
        Assert.Equal(-Errno.ENOENT, model.PRead(fd, word, 0));
    }

    [Fact]
    public void A_read_for_a_cpu_other_than_0_is_EINVAL()
    {
        using var model = new DevLguestModel(hv => hv.PowerOff());
        int fd = InitializedDevice(model);

        Assert.Equal(-Errno.EINVAL, model.PRead(fd, new byte[nuint.Size], 1));
    }

    [Fact]
    public void A_dead_guest_reads_ENOENT_then_its_reason_and_refuses_every_write_with_ENOENT()
    {
        using var model = new DevLguestModel(hv => hv.Panic("bad page"));
        int fd = InitializedDevice(model);

        Assert.Equal(-Errno.ENOENT, model.PRead(fd, new byte[nuint.Size], 0));
        byte[] reason = new byte[LguestAbi.DeathReasonLength];
        long length = model.PRead(fd, reason, 0);

        Assert.Equal("CRASH: bad page\0", System.Text.Encoding.UTF8.GetString(reason, 0, (int)length));
        Assert.Equal(5, model.PRead(fd, new byte[5], 0)); // no more than the buffer holds
        Assert.Equal(-Errno.ENOENT, Write(model, fd, LguestAbi.LHREQ_IRQ, 1));
    }

    [Fact]
    public void A_reboot_request_is_ERESTART_and_stays_so()
    {
        using var model = new DevLguestModel(hv => hv.Reboot());
        int fd = InitializedDevice(model);

        Assert.Equal(-Errno.ERESTART, model.PRead(fd, new byte[nuint.Size], 0));
        Assert.Equal(-Errno.ERESTART, model.PRead(fd, new byte[nuint.Size], 0));
    }

    [Fact]
    public void A_signal_to_the_reading_task_makes_its_read_EINTR_and_the_guest_runs_on_at_the_next_read()
    {
        using var interrupted = new ManualResetEventSlim();
        using var model = new DevLguestModel(hv =>
        {
            while (!hv.WaitForInterrupt(5, TimeSpan.FromMilliseconds(20)))
            {
            }
            hv.Notify(0x3000);
            hv.PowerOff();
        });
        int fd = model.Open("/dev/lguest");
        LguestTask? task = null;
        var results = new List<long>();
        byte[] word = new byte[nuint.Size];
        var reader = new Thread(() =>
        {
            Initialize(model, fd);
            task = model.CurrentTask();
            results.Add(model.PRead(fd, word, 0)); // the halted guest waits for line 5: only a signal ends this read
            interrupted.Set();
            Write(model, fd, LguestAbi.LHREQ_IRQ, 5);
            results.Add(model.PRead(fd, word, 0)); // the guest carries on where it was: its NOTIFY
            results.Add(model.PRead(fd, word, 0)); // and its power-off
        });
        reader.Start();

        while (!interrupted.Wait(TimeSpan.FromMilliseconds(20)))
        {
            if (task is { } running)
            {
                model.SignalTask(running); // repeated: one that lands before the read is spent in user space
            }
        }

        Assert.True(reader.Join(Bound));
        Assert.Equal([-Errno.EINTR, nuint.Size, -Errno.ENOENT], results);
        Assert.Equal((nuint)0x3000, MemoryMarshal.Read<nuint>(word));
    }

    [Fact]
    public void A_signal_that_arrives_outside_a_read_is_spent_and_does_not_interrupt_the_next_one()
    {
        using var model = new DevLguestModel(hv =>
        {
            hv.Notify(0x4000);
            hv.PowerOff();
        });
        int fd = InitializedDevice(model);

        model.SignalTask(model.CurrentTask());

        Assert.Equal(nuint.Size, model.PRead(fd, new byte[nuint.Size], 0));
    }

    public void Dispose() => _memory.Dispose();

    private static long Write(DevLguestModel model, int fd, params ulong[] words)
    {
        nuint[] native = [.. words.Select(w => (nuint)w)];
        return model.Write(fd, MemoryMarshal.AsBytes(native.AsSpan()));
    }

    private long Initialize(DevLguestModel model, int fd)
    {
        Assert.True(_memory.TryGetHostAddress(0, 1, out nint host));
        return Write(model, fd, LguestAbi.LHREQ_INITIALIZE, (ulong)host, (ulong)(_memory.Size / LguestAbi.PageSize), 0x100000);
    }

    /// <summary>Opened and initialized on the calling thread, which may then read.</summary>
    private int InitializedDevice(DevLguestModel model)
    {
        int fd = model.Open("/dev/lguest");
        Assert.Equal(3 * nuint.Size, Initialize(model, fd));
        return fd;
    }
}
