using System.Runtime.InteropServices;
using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class ScatterGatherIoTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public unsafe void WriteV_and_ReadV_round_trip_through_a_pipe_with_different_splits()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using (read)
        using (write)
        {
            byte[] a = Pattern(7, 1), b = Pattern(100, 2), c = Pattern(1, 3);
            byte[] all = [.. a, .. b, .. c];
            var into = new byte[all.Length];
            fixed (byte* pa = a, pb = b, pc = c, pi = into)
            {
                IoVector[] outv = [new((nint)pa, 7), new((nint)pb, 100), new((nint)pc, 1)];
                Assert.Equal(108, ScatterGatherIo.WriteV(write, outv));

                IoVector[] inv = [new((nint)pi, 50), new((nint)(pi + 50), 58)];
                Assert.Equal(108, ScatterGatherIo.ReadV(read, inv));
            }
            Assert.Equal(all, into);
        }
    }

    [Fact]
    public unsafe void PWriteV_and_PReadV_round_trip_at_an_offset_and_leave_the_rest_alone()
    {
        using var file = new TempFile(size: 8192);
        byte[] a = Pattern(300, 4), b = Pattern(5000, 5);
        var back = new byte[5300];
        fixed (byte* pa = a, pb = b, pback = back)
        {
            IoVector[] outv = [new((nint)pa, 300), new((nint)pb, 5000)];
            Assert.Equal(5300, ScatterGatherIo.PWriteV(file.Descriptor, outv, 1000));

            IoVector[] inv = [new((nint)pback, 4000), new((nint)(pback + 4000), 1300)];
            Assert.Equal(5300, ScatterGatherIo.PReadV(file.Descriptor, inv, 1000));
        }
        Assert.Equal([.. a, .. b], back);

        byte[] onDisk = File.ReadAllBytes(file.Path);
        Assert.All(onDisk[..1000], x => Assert.Equal(0, x));
        Assert.All(onDisk[6300..], x => Assert.Equal(0, x));
    }

    [Fact]
    public unsafe void PReadV_at_end_of_file_returns_zero_and_PReadAll_stops_there()
    {
        using var file = new TempFile(size: 100);
        var buffer = new byte[64];
        fixed (byte* p = buffer)
        {
            Assert.Equal(0, ScatterGatherIo.PReadV(file.Descriptor, [new((nint)p, 64)], 100));

            IoVector[] v = [new((nint)p, 32), new((nint)(p + 32), 32)];
            Assert.Equal(40, ScatterGatherIo.PReadAll(file.Descriptor, v, 60));
            Assert.Equal(0UL, v[0].Length);
            Assert.Equal(24UL, (ulong)v[1].Length);
        }
    }

    [Fact]
    public unsafe void PWriteAll_writes_every_byte_and_consumes_the_vectors()
    {
        using var file = new TempFile();
        byte[] data = Pattern(10_000, 6);
        fixed (byte* p = data)
        {
            IoVector[] v = [new((nint)p, 1), new((nint)(p + 1), 9_999)];
            ScatterGatherIo.PWriteAll(file.Descriptor, v, 512);
            Assert.Equal(0UL, IoVectors.TotalLength(v));
        }
        Assert.Equal(10_512, FileIo.GetSize(file.Descriptor));
        Assert.Equal(data, File.ReadAllBytes(file.Path)[512..]);
    }

    [Fact]
    public async Task WriteAll_loops_short_writes_into_a_small_non_blocking_pipe_until_everything_is_out()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using (read)
        using (write)
        {
            int capacity = Pipe.SetCapacity(write, 4096);
            Assert.Equal(4096, capacity);
            Pipe.SetNonBlocking(write);

            // 1 MiB in 2,000 uneven pieces (more than IOV_MAX): a 4 KiB pipe takes a few of them per writev.
            byte[] data = Pattern(1 << 20, 7);
            var received = new byte[data.Length];
            Task reader = Task.Factory.StartNew(
                () =>
                {
                    int at = 0;
                    while (at < received.Length)
                    {
                        int n = FileIo.Read(read, received.AsSpan(at, Math.Min(1000, received.Length - at)));
                        Assert.NotEqual(0, n);
                        at += n;
                    }
                },
                TaskCreationOptions.LongRunning);

            GCHandle pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                nint start = pin.AddrOfPinnedObject();
                var vectors = new IoVector[2000];
                int offset = 0;
                for (int i = 0; i < vectors.Length; i++)
                {
                    int length = i == vectors.Length - 1 ? data.Length - offset : 1 + (i * 37 % 900);
                    vectors[i] = new IoVector(start + offset, (nuint)length);
                    offset += length;
                }
                ScatterGatherIo.WriteAll(write, vectors);
                Assert.Equal(0UL, IoVectors.TotalLength(vectors));
            }
            finally
            {
                pin.Free();
            }

            await reader.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(data, received);
        }
    }

    [Fact]
    public unsafe void WriteAll_to_a_pipe_with_no_reader_fails_with_EPIPE()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        read.Dispose();
        using (write)
        {
            byte* b = stackalloc byte[1];
            IoVector[] v = [new((nint)b, 1)];
            var e = Assert.Throws<SystemCallException>(() => ScatterGatherIo.WriteAll(write, v));
            Assert.Equal(Errno.EPIPE, e.Errno);
        }
    }

    [Fact]
    public void Pread_Pwrite_Ftruncate_Fdatasync_and_GetSize_work_on_a_file()
    {
        using var file = new TempFile();
        Assert.Equal(0, FileIo.GetSize(file.Descriptor));

        Assert.Equal(3, FileIo.Pwrite(file.Descriptor, "abc"u8, 4096));
        FileIo.Fdatasync(file.Descriptor);
        Assert.Equal(4099, FileIo.GetSize(file.Descriptor));

        var back = new byte[8];
        Assert.Equal(5, FileIo.Pread(file.Descriptor, back, 4094));
        Assert.Equal(new byte[] { 0, 0, (byte)'a', (byte)'b', (byte)'c', 0, 0, 0 }, back);

        FileIo.Ftruncate(file.Descriptor, 4097);
        Assert.Equal(4097, FileIo.GetSize(file.Descriptor));
        Assert.Equal(1, FileIo.Pread(file.Descriptor, back, 4096));
        Assert.Equal(0, FileIo.Pread(file.Descriptor, back, 4097));
    }

    [Fact]
    public void GetSize_puts_the_file_position_back()
    {
        using var file = new TempFile(size: 10);
        Assert.Equal(2, FileIo.Read(file.Descriptor, new byte[2]));
        Assert.Equal(10, FileIo.GetSize(file.Descriptor));
        Assert.Equal(8, FileIo.Read(file.Descriptor, new byte[100]));
    }

    [Fact]
    public void Positional_io_on_a_pipe_fails_with_ESPIPE()
    {
        (FileDescriptor read, FileDescriptor write) = Pipe.Create();
        using (read)
        using (write)
        {
            var e = Assert.Throws<SystemCallException>(() => FileIo.Pread(read, new byte[1], 0));
            Assert.Equal(29, e.Errno);
        }
    }
}
