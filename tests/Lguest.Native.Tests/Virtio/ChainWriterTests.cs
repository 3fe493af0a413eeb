using Lguest.Native.Interop;
using Lguest.Native.Virtio;
using static Lguest.Native.Tests.Virtio.ChainFixture;

namespace Lguest.Native.Tests.Virtio;

public sealed class ChainWriterTests
{
    private const byte Status = 0x5a;

    [Fact]
    public void A_status_byte_in_a_descriptor_of_its_own_is_split_off_and_data_cannot_reach_it()
    {
        using var f = new ChainFixture();
        f.Pop(In(DataArea, 16), Out(DataArea + 0x100, 512), Out(DataArea + 0x400, 1));
        ChainWriter data = f.Writer();

        ChainWriter status = data.SplitOffTail(1);

        Assert.Equal(512UL, data.Available);
        Assert.Equal(512, data.Write(Enumerable.Repeat((byte)0xaa, 600).ToArray()));
        Assert.True(status.TryWriteObject(Status));
        Assert.Equal(Status, f.Bytes(DataArea + 0x400, 1)[0]);
        Assert.Equal(513UL, data.BytesWritten);
        Assert.Equal(513UL, status.BytesWritten);
    }

    [Fact]
    public void A_status_byte_sharing_the_data_descriptor_is_its_last_byte()
    {
        using var f = new ChainFixture();
        f.Pop(In(DataArea, 16), Out(DataArea + 0x100, 513));
        ChainWriter data = f.Writer();
        ChainWriter status = data.SplitOffTail(1);

        Assert.Equal(512, data.Write(Enumerable.Repeat((byte)0xaa, 600).ToArray()));
        Assert.True(status.TryWriteObject(Status));

        byte[] written = f.Bytes(DataArea + 0x100, 513);
        Assert.All(written[..512], b => Assert.Equal(0xaa, b));
        Assert.Equal(Status, written[512]);
    }

    [Fact]
    public void A_status_byte_before_a_trailing_empty_descriptor_is_the_last_byte_with_room()
    {
        using var f = new ChainFixture();
        f.Pop(Out(DataArea, 100), Out(DataArea + 0x200, 0));
        ChainWriter data = f.Writer();
        ChainWriter status = data.SplitOffTail(1);

        Assert.True(status.TryWriteObject(Status));

        Assert.Equal(99UL, data.Available);
        Assert.Equal(Status, f.Bytes(DataArea + 99, 1)[0]);
    }

    [Fact]
    public void The_used_length_the_driver_sees_is_what_the_writer_wrote()
    {
        using var f = new ChainFixture();
        DescriptorChain chain = f.Pop(Out(DataArea, 3), Out(DataArea + 0x100, 64));
        ChainWriter writer = f.Writer();

        Assert.Equal(5, writer.Write("hello"u8));
        f.Device.AddUsed(chain.HeadIndex, (uint)writer.BytesWritten);

        Assert.True(f.Driver.TryGetUsed(out ushort head, out uint length));
        Assert.Equal((chain.HeadIndex, 5u), (head, length));
        Assert.Equal("hel"u8.ToArray(), f.Bytes(DataArea, 3));
        Assert.Equal("lo"u8.ToArray(), f.Bytes(DataArea + 0x100, 2));
    }

    [Fact]
    public void Iovectors_are_offered_without_moving_and_only_what_a_host_call_filled_counts()
    {
        using var f = new ChainFixture();
        f.Pop(Out(DataArea, 10), Out(DataArea + 0x100, 10));
        ChainWriter writer = f.Writer();
        var vectors = new IoVector[4];

        Assert.Equal(2, writer.GetIoVectors(vectors, 15));
        Assert.Equal(15UL, IoVectors.TotalLength(vectors.AsSpan(0, 2)));
        Assert.Equal(20UL, writer.Available);
        Assert.Equal(-1, writer.GetIoVectors(vectors.AsSpan(0, 1), 15));

        writer.MarkWritten(12);
        Assert.Equal(8UL, writer.Available);
        Assert.Equal(12UL, writer.BytesWritten);
        Assert.True(f.Memory.TryGetHostAddress(DataArea + 0x102, 8, out nint next));
        Assert.Equal(1, writer.GetIoVectors(vectors));
        Assert.Equal((next, (nuint)8), (vectors[0].Base, vectors[0].Length));
    }

    [Fact]
    public void Marking_more_written_than_there_is_room_for_is_a_device_bug()
    {
        using var f = new ChainFixture();
        f.Pop(Out(DataArea, 10));

        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            ChainWriter writer = f.Writer();
            writer.MarkWritten(10);
            writer.MarkWritten(1);
        });

        Assert.Equal(10UL, f.Chain.BytesWritten);
    }

    [Fact]
    public void What_a_host_call_put_in_can_be_read_back()
    {
        using var f = new ChainFixture();
        f.Pop(Out(DataArea, 0), Out(DataArea + 0x10, 2), Out(DataArea + 0x20, 8));
        f.Memory.Write(DataArea + 0x10, "hello"u8[..2]);
        f.Memory.Write(DataArea + 0x20, "llo"u8);
        ChainWriter writer = f.Writer();
        var back = new byte[8];

        Assert.Equal(0, writer.ReadBack(back));
        writer.MarkWritten(5);

        Assert.Equal(5, writer.ReadBack(back));
        Assert.Equal("hello"u8.ToArray(), back.AsSpan(0, 5).ToArray());
    }

    [Fact]
    public void An_object_that_does_not_fit_is_not_written_at_all()
    {
        using var f = new ChainFixture();
        f.Pop(Out(DataArea, 3));
        ChainWriter writer = f.Writer();

        Assert.False(writer.TryWriteObject(0xffffffffu));

        Assert.Equal(0UL, writer.BytesWritten);
        Assert.Equal(new byte[3], f.Bytes(DataArea, 3));
    }

    [Fact]
    public void A_chain_with_no_writable_part_takes_nothing_and_has_no_tail_to_split()
    {
        using var f = new ChainFixture();
        f.Pop(In(DataArea, 8));
        ChainWriter writer = f.Writer();

        Assert.Equal(0, writer.BufferCount);
        Assert.Equal(0UL, writer.Available);
        Assert.Equal(0, writer.Write("x"u8));
        Assert.False(writer.TryWriteObject((byte)1));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Writer().SplitOffTail(1));
    }

    [Fact]
    public void A_writable_part_of_more_than_4_GiB_is_counted_in_full()
    {
        using var f = new ChainFixture();
        f.PopIndirect(Enumerable.Repeat(Out(DataArea, 1 << 20), 4097).ToArray());
        ChainWriter data = f.Writer();
        ChainWriter status = data.SplitOffTail(1);

        Assert.Equal((4097UL << 20) - 1, data.Available);
        Assert.True(status.TryWriteObject(Status));
        Assert.Equal(Status, f.Bytes(DataArea + (1 << 20) - 1, 1)[0]);
        Assert.Equal(1UL, data.BytesWritten);
    }
}
