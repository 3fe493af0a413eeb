using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Block;

public sealed class BlockRequestTests
{
    private const int Sectors = 8;

    [Fact]
    public void In_reads_the_sectors_into_buffers_split_anywhere()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        DriverBuffer first = f.Ring.Writable(600);
        DriverBuffer second = f.Ring.Writable(424);
        DriverBuffer status = f.Ring.Writable(1);

        (byte s, uint used) = f.Run(status, f.Ring.Readable(BlockFixture.Header(BlockProtocol.TypeIn, 2)), first, second, status);

        Assert.Equal(BlockProtocol.StatusOk, s);
        Assert.Equal(1024u + 1, used);
        Assert.Equal(f.Original.AsSpan(1024, 1024).ToArray(), f.Ring.Contents(first).Concat(f.Ring.Contents(second)).ToArray());
        Assert.Equal(1024, f.Device.Counters.BytesRead);
    }

    [Fact]
    public void Out_writes_the_data_after_the_header_to_the_file()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        byte[] data = TempFile.Pattern(512, seed: 77);
        DriverBuffer status = f.Ring.Writable(1);

        (byte s, uint used) = f.Run(
            status, f.Ring.Readable(BlockFixture.Header(BlockProtocol.TypeOut, 3)), f.Ring.Readable(data.AsSpan(0, 100)), f.Ring.Readable(data.AsSpan(100)), status);

        Assert.Equal(BlockProtocol.StatusOk, s);
        Assert.Equal(1u, used);
        byte[] expected = (byte[])f.Original.Clone();
        data.CopyTo(expected, 3 * 512);
        Assert.Equal(expected, f.File.ReadAll());
    }

    [Fact]
    public void Header_split_across_descriptors_is_gathered()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        byte[] header = BlockFixture.Header(BlockProtocol.TypeIn, 5);
        DriverBuffer data = f.Ring.Writable(512);
        DriverBuffer status = f.Ring.Writable(1);

        (byte s, _) = f.Run(status, f.Ring.Readable(header.AsSpan(0, 5)), f.Ring.Readable(header.AsSpan(5, 3)), f.Ring.Readable(header.AsSpan(8)), data, status);

        Assert.Equal(BlockProtocol.StatusOk, s);
        Assert.Equal(f.Original.AsSpan(5 * 512, 512).ToArray(), f.Ring.Contents(data));
    }

    [Fact]
    public void Flush_syncs_the_file()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));

        Assert.Equal((BlockProtocol.StatusOk, 1u), f.Simple(BlockProtocol.TypeFlush));
        Assert.Equal(1, f.Flushes);
    }

    [Fact]
    public void Get_id_answers_twenty_bytes_or_what_fits()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        DriverBuffer id = f.Ring.Writable(20);
        DriverBuffer status = f.Ring.Writable(1);
        (byte s, uint used) = f.Run(status, f.Ring.Readable(BlockFixture.Header(BlockProtocol.TypeGetId, 0)), id, status);
        Assert.Equal(BlockProtocol.StatusOk, s);
        Assert.Equal(21u, used);
        Assert.StartsWith("lguest-", System.Text.Encoding.ASCII.GetString(f.Ring.Contents(id)), StringComparison.Ordinal);
        Assert.Equal(f.Device.Disk.Id, f.Ring.Contents(id));

        DriverBuffer small = f.Ring.Writable(6);
        DriverBuffer status2 = f.Ring.Writable(1);
        (s, used) = f.Run(status2, f.Ring.Readable(BlockFixture.Header(BlockProtocol.TypeGetId, 0)), small, status2);
        Assert.Equal(BlockProtocol.StatusOk, s);
        Assert.Equal(7u, used);
        Assert.Equal("lguest"u8.ToArray(), f.Ring.Contents(small));
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    [InlineData(5u)] // FLUSH_OUT: the seed's bit test made it a write
    [InlineData(9u)] // GET_ID | OUT
    [InlineData(11u)] // DISCARD
    [InlineData(13u)] // WRITE_ZEROES
    [InlineData(0x80000000u)]
    [InlineData(uint.MaxValue)]
    public void Any_other_type_is_unsupported_and_touches_nothing(uint type)
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        byte[] data = new byte[512];
        DriverBuffer status = f.Ring.Writable(1);

        (byte s, uint used) = f.Run(status, f.Ring.Readable(BlockFixture.Header(type, 1)), f.Ring.Readable(data), status);

        Assert.Equal(BlockProtocol.StatusUnsupported, s);
        Assert.Equal(1u, used);
        Assert.Equal(f.Original, f.File.ReadAll());
        Assert.Equal(0, f.Flushes);
        Assert.Equal(1, f.Device.Counters.GuestErrors);
    }

    [Theory]
    [InlineData(ulong.MaxValue / 512)]
    [InlineData((ulong.MaxValue / 512) + 1)]
    [InlineData(ulong.MaxValue)]
    [InlineData((ulong)long.MaxValue)]
    [InlineData((ulong)long.MaxValue / 512)]
    [InlineData(Sectors)]
    public void Sectors_off_the_disk_are_io_errors_before_any_io(ulong sector)
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));

        Assert.Equal(BlockProtocol.StatusIoError, f.Read(sector, 512).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Write(sector, new byte[512]).Status);

        Assert.Equal(f.Original, f.File.ReadAll());
        Assert.Equal(0, f.Device.Counters.BytesRead);
    }

    [Fact]
    public void The_last_sector_fits_exactly_and_one_more_does_not()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));

        (byte s, uint used, byte[] data) = f.Read(Sectors - 2, 1024);
        Assert.Equal((BlockProtocol.StatusOk, 1025u), (s, used));
        Assert.Equal(f.Original.AsSpan((Sectors - 2) * 512).ToArray(), data);

        Assert.Equal(BlockProtocol.StatusOk, f.Write(Sectors - 1, new byte[512]).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Write(Sectors - 1, new byte[1024]).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Read(Sectors - 1, 1024).Status);
        Assert.Equal(Sectors * 512, f.File.ReadAll().Length);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(511u)]
    [InlineData(513u)]
    public void Data_that_is_not_whole_sectors_is_an_io_error(uint length)
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));

        Assert.Equal(BlockProtocol.StatusIoError, f.Read(0, length).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Write(0, new byte[length]).Status);
        Assert.Equal(f.Original, f.File.ReadAll());
    }

    [Fact]
    public void A_request_without_a_status_byte_cannot_be_answered()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        f.Ring.Offer(f.Ring.Readable(BlockFixture.Header(BlockProtocol.TypeIn, 0)));

        Assert.Throws<GuestRequestException>(() => f.Ring.Drain(f.Handler));
        Assert.False(f.Ring.TryUsed(out _, out _));
    }

    [Fact]
    public void A_header_shorter_than_sixteen_bytes_cannot_be_answered()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));
        f.Ring.Offer(f.Ring.Readable(BlockFixture.Header(BlockProtocol.TypeIn, 0).AsSpan(0, 12)), f.Ring.Writable(1));

        Assert.Throws<GuestRequestException>(() => f.Ring.Drain(f.Handler));
    }

    [Fact]
    public void A_read_only_disk_refuses_writes_and_serves_reads_and_flushes()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512), readOnly: true);

        Assert.NotEqual(0UL, f.Device.OfferedFeatures & (1UL << BlockProtocol.FeatureReadOnly));
        Assert.Equal(BlockProtocol.StatusIoError, f.Write(0, TempFile.Pattern(512, seed: 9)).Status);
        Assert.Equal(f.Original, f.File.ReadAll());
        Assert.Equal(BlockProtocol.StatusOk, f.Read(0, 512).Status);
        Assert.Equal(BlockProtocol.StatusOk, f.Simple(BlockProtocol.TypeFlush).Status);
    }

    [Fact]
    public void A_failed_flush_is_an_io_error_and_the_disk_stays_failed()
    {
        int calls = 0;
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512), flush: _ =>
        {
            calls++;
            throw new SystemCallException("fdatasync", Errno.EIO);
        });

        Assert.Equal(BlockProtocol.StatusIoError, f.Simple(BlockProtocol.TypeFlush).Status);
        Assert.True(f.Device.Disk.Failed);
        Assert.Equal(BlockProtocol.StatusIoError, f.Read(0, 512).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Write(0, new byte[512]).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Simple(BlockProtocol.TypeFlush).Status);
        Assert.Equal(1, calls);
        Assert.Equal(f.Original, f.File.ReadAll());
    }

    [Fact]
    public void A_size_that_is_not_whole_sectors_serves_only_whole_sectors()
    {
        using var f = new BlockFixture(TempFile.Pattern(1000));

        Assert.Equal("virtblock 1 sectors (488 trailing bytes not served)", f.Device.Describe());
        Assert.Equal(BlockProtocol.StatusOk, f.Read(0, 512).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Read(1, 512).Status);
        Assert.Equal(BlockProtocol.StatusIoError, f.Write(1, new byte[512]).Status);
        Assert.Equal(1000, f.File.ReadAll().Length);
    }

    [Fact]
    public void Config_and_features_are_the_seeds()
    {
        using var f = new BlockFixture(TempFile.Pattern(Sectors * 512));

        Assert.Equal(2, f.Device.DeviceType);
        Assert.Equal((1UL << 9) | (1UL << 2), f.Device.OfferedFeatures);
        Assert.Equal(
            new byte[] { Sectors, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 254, 0, 0, 0 },
            f.Device.Config.ToArray());
        Assert.Equal("virtblock 8 sectors", f.Device.Describe());
        QueueDefinition queue = Assert.Single(f.Device.Queues);
        Assert.Equal(("requests", (ushort)256), (queue.Name, queue.Size));
    }

    [Fact]
    public void A_missing_file_fails_at_setup_naming_it()
    {
        var e = Assert.Throws<HostDeviceException>(
            () => new BlockDevice(new Lguest.Actors.Configuration.BlockSettings("/nonexistent/disk.img", false), Akka.Event.NoLogger.Instance));
        Assert.Contains("/nonexistent/disk.img", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Range_arithmetic_cannot_overflow()
    {
        Assert.True(BlockProtocol.TryGetRange(0, 0, 0, out _));
        Assert.True(BlockProtocol.TryGetRange(7, 512, 8, out long offset));
        Assert.Equal(7 * 512, offset);
        Assert.False(BlockProtocol.TryGetRange(8, 512, 8, out _));
        Assert.False(BlockProtocol.TryGetRange(1, ulong.MaxValue - 511, 8, out _));
        Assert.False(BlockProtocol.TryGetRange(ulong.MaxValue, 512, ulong.MaxValue / 512, out _));
    }
}
