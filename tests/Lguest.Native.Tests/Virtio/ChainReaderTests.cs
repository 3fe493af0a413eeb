using System.Runtime.InteropServices;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;
using static Lguest.Native.Tests.Virtio.ChainFixture;

namespace Lguest.Native.Tests.Virtio;

public sealed class ChainReaderTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct RequestHeader
    {
        public uint Type;
        public uint Reserved;
        public ulong Sector;
    }

    [Fact]
    public void A_header_split_across_descriptors_reads_as_one_object()
    {
        using var f = new ChainFixture();
        byte[] header = new byte[16];
        BitConverter.TryWriteBytes(header.AsSpan(0), 1u);
        BitConverter.TryWriteBytes(header.AsSpan(8), 0x1122334455667788UL);
        f.Memory.Write(DataArea, header.AsSpan(0, 3));
        f.Memory.Write(DataArea + 0x100, header.AsSpan(3));
        f.Pop(In(DataArea, 3), In(DataArea + 0x100, 13), In(DataArea + 0x200, 100), Out(DataArea + 0x400, 1));

        ChainReader reader = f.Reader();
        Assert.True(reader.TryReadObject(out RequestHeader parsed));

        Assert.Equal(1u, parsed.Type);
        Assert.Equal(0x1122334455667788UL, parsed.Sector);
        Assert.Equal(100UL, reader.Remaining);
        Assert.Equal(3, reader.BufferCount);
    }

    [Fact]
    public void A_chain_too_short_for_the_object_gives_none_and_keeps_its_bytes()
    {
        using var f = new ChainFixture();
        f.Memory.Write(DataArea, "abcde"u8);
        f.Memory.Write(DataArea + 0x100, "fghi"u8);
        f.Pop(In(DataArea, 5), In(DataArea + 0x100, 4));

        ChainReader reader = f.Reader();
        Assert.False(reader.TryReadObject(out RequestHeader _));
        Assert.Equal(9UL, reader.Remaining);

        var all = new byte[16];
        Assert.Equal(9, reader.Read(all));
        Assert.Equal("abcdefghi"u8.ToArray(), all.AsSpan(0, 9).ToArray());
        Assert.Equal(0UL, reader.Remaining);
        Assert.Equal(0, reader.Read(all));
    }

    [Fact]
    public void Empty_descriptors_between_the_bytes_are_stepped_over()
    {
        using var f = new ChainFixture();
        f.Memory.Write(DataArea + 0x10, 0x44332211u);
        f.Memory.Write(DataArea + 0x30, 0x88776655u);
        f.Pop(In(DataArea, 0), In(DataArea + 0x10, 4), In(DataArea + 0x20, 0), In(DataArea + 0x30, 4), In(DataArea + 0x40, 0));

        ChainReader reader = f.Reader();
        Assert.True(reader.TryReadObject(out ulong value));

        Assert.Equal(0x8877665544332211UL, value);
        Assert.Equal(5, reader.BufferCount);
        Assert.Equal(0UL, reader.Remaining);
    }

    [Fact]
    public void Consuming_into_iovectors_covers_exactly_what_was_asked_and_the_rest_reads_on()
    {
        using var f = new ChainFixture();
        f.Memory.Write(DataArea + 0x100, "0123456789ABCDEFGHIJ"u8);
        f.Pop(In(DataArea, 10), In(DataArea + 0x100, 20));
        ChainReader reader = f.Reader();
        var vectors = new IoVector[4];

        Assert.Equal(2, reader.ConsumeIoVectors(vectors, 15));

        Assert.True(f.Memory.TryGetHostAddress(DataArea, 10, out nint first));
        Assert.True(f.Memory.TryGetHostAddress(DataArea + 0x100, 5, out nint second));
        Assert.Equal((first, (nuint)10), (vectors[0].Base, vectors[0].Length));
        Assert.Equal((second, (nuint)5), (vectors[1].Base, vectors[1].Length));
        Assert.Equal(15UL, reader.Remaining);
        var rest = new byte[15];
        Assert.Equal(15, reader.Read(rest));
        Assert.Equal("56789ABCDEFGHIJ"u8.ToArray(), rest);
    }

    [Fact]
    public void A_chain_in_more_pieces_than_the_iovecs_hold_is_refused_and_nothing_is_consumed()
    {
        using var f = new ChainFixture();
        f.Pop(In(DataArea, 1), In(DataArea + 0x10, 1), In(DataArea + 0x20, 1));
        ChainReader reader = f.Reader();

        Assert.Equal(-1, reader.ConsumeIoVectors(new IoVector[2]));

        Assert.Equal(3UL, reader.Remaining);
        Assert.Equal(3, reader.ConsumeIoVectors(new IoVector[3]));
        Assert.Equal(0UL, reader.Remaining);
    }

    [Fact]
    public void A_chain_of_more_than_4_GiB_is_counted_in_full_and_never_wraps()
    {
        using var f = new ChainFixture();
        // 4097 readable descriptors of 1 MiB over the same guest megabyte, through one indirect table: the lengths
        // add up past 2^32, which a 32-bit count would wrap to 1 MiB.
        DriverBuffer[] buffers = Enumerable.Repeat(In(DataArea, 1 << 20), 4097).ToArray();
        f.PopIndirect(buffers);
        ChainReader reader = f.Reader();

        Assert.Equal(4097UL << 20, reader.Remaining);
        Assert.True(reader.TryReadObject(out ulong _));
        Assert.Equal((4097UL << 20) - 8, reader.Consume(ulong.MaxValue));
        Assert.Equal(0UL, reader.Remaining);
        Assert.Equal(0UL, reader.Consume(1));
        Assert.False(reader.TryReadObject(out byte _));
    }

    [Fact]
    public void A_buffer_whose_length_wraps_past_2_to_the_64_never_reaches_a_reader()
    {
        using var f = new ChainFixture();
        f.Driver.WriteDescriptor(0, ulong.MaxValue - 15, 32, 0, 0);
        f.Driver.PublishAvailable(0);

        var e = Assert.Throws<VirtqueueException>(() => f.Device.TryPop(f.Chain));
        Assert.Equal(VirtqueueViolation.BufferOutsideMemory, e.Violation);
    }

    [Fact]
    public void Memory_that_no_longer_holds_the_chain_is_the_ring_violation_not_a_host_fault()
    {
        using var f = new ChainFixture();
        f.Pop(In(DataArea, 16), Out(DataArea + 0x100, 16));
        using GuestMemory shrunk = GuestMemory.CreateFlat(DataArea / 2);

        var reading = Assert.Throws<VirtqueueException>(() => new ChainReader(f.Chain, shrunk).Read(new byte[4]));
        var consuming = Assert.Throws<VirtqueueException>(() => new ChainReader(f.Chain, shrunk).ConsumeIoVectors(new IoVector[4]));
        var writing = Assert.Throws<VirtqueueException>(() => new ChainWriter(f.Chain, shrunk).Write("x"u8));

        Assert.All([reading, consuming, writing], e => Assert.Equal(VirtqueueViolation.BufferOutsideMemory, e.Violation));
    }
}
