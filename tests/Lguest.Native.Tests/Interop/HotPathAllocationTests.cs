using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

/// <summary>The I/O a block request does per call must not allocate: no error text is built unless the call failed.</summary>
public sealed class HotPathAllocationTests
{
    [Fact]
    public unsafe void Successful_positional_and_vectored_io_allocates_nothing()
    {
        string path = Path.GetTempFileName();
        try
        {
            using FileDescriptor file = FileDescriptor.Open(path, LibC.O_RDWR);
            byte* buffer = stackalloc byte[4096];
            Span<IoVector> vector = stackalloc IoVector[1];
            vector[0] = new IoVector((nint)buffer, 4096);
            ScatterGatherIo.PWriteV(file, vector, 0); // first calls JIT and resolve the P/Invokes
            ScatterGatherIo.PReadV(file, vector, 0);
            FileIo.Pread(file, new Span<byte>(buffer, 512), 0);

            // The runtime itself may allocate on this thread once while it tiers the methods up; a per-call
            // allocation would show in every round, so one clean round of 1000 calls is the proof.
            long fewest = long.MaxValue;
            for (int round = 0; round < 5 && fewest != 0; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 1000; i++)
                {
                    ScatterGatherIo.PWriteV(file, vector, 4096L * (i % 8));
                    ScatterGatherIo.PReadV(file, vector, 4096L * (i % 8));
                    FileIo.Pread(file, new Span<byte>(buffer, 512), 512L * (i % 8));
                }
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            Assert.Equal(0, fewest);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_queue_threads_kick_wait_and_drain_allocate_nothing()
    {
        // What a virtqueue's service thread does per kick: poll its eventfd, drain it, read a tap without blocking,
        // ring the guest's interrupt eventfd; each goes through SystemCall.Uninterrupted with a different call struct.
        using var kick = EventFd.Create(nonBlocking: true);
        using var interrupt = EventFd.Create(nonBlocking: true);
        (FileDescriptor read, FileDescriptor write) = Pipe.Create(LibC.O_NONBLOCK);
        using FileDescriptor readEnd = read;
        using FileDescriptor writeEnd = write;
        Span<byte> buffer = stackalloc byte[64];
        static void Round(EventFd kick, EventFd interrupt, FileDescriptor readEnd, FileDescriptor writeEnd, Span<byte> buffer)
        {
            kick.Signal();
            Assert.True(Poll.WaitReadable(kick.Descriptor, TimeSpan.Zero));
            kick.Drain();
            FileIo.Write(writeEnd, buffer[..8]);
            NonBlockingIo.TryRead(readEnd, buffer);
            interrupt.Signal();
            interrupt.Drain();
        }
        Round(kick, interrupt, readEnd, writeEnd, buffer); // first calls JIT and resolve the P/Invokes

        long fewest = long.MaxValue;
        for (int round = 0; round < 5 && fewest != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Round(kick, interrupt, readEnd, writeEnd, buffer);
            }
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }

    [Fact]
    public void A_failed_call_still_names_the_operation()
    {
        var closedPipe = Pipe.Create();
        closedPipe.Read.Dispose();
        var e = Assert.Throws<SystemCallException>(() => FileIo.Write(closedPipe.Write, [1, 2, 3]));
        Assert.Equal(Errno.EPIPE, e.Errno);
        Assert.StartsWith($"write fd {closedPipe.Write.Number}", e.Message);
        closedPipe.Write.Dispose();
    }
}
