using Lguest.Native.Lguest;
using Lguest.Native.Memory;

namespace Lguest.Native.Tests.Lguest;

public sealed class LguestBusTests : IDisposable
{
    private const ulong Ram = 1 << 20;
    private const ulong Page = LguestAbi.PageSize;
    private const ulong DevicePage = Ram; // pfn 256
    private readonly GuestMemory _memory = GuestMemory.CreateFlat(Ram + LguestAbi.DEVICE_PAGES * Page);
    private readonly LguestBus _bus;

    public LguestBusTests() => _bus = new LguestBus(_memory, Ram);

    public void Dispose() => _memory.Dispose();

    private byte[] DevicePageBytes()
    {
        var page = new byte[Page];
        _memory.Read(DevicePage, page);
        return page;
    }

    private LguestDevice AddConsole()
    {
        LguestDevice console = _bus.AddDevice(3, "console");
        console.AddVirtqueue(LguestAbi.VIRTQUEUE_NUM);
        console.AddVirtqueue(LguestAbi.VIRTQUEUE_NUM);
        return console;
    }

    private LguestDevice AddBlock()
    {
        LguestDevice block = _bus.AddDevice(2, "block");
        block.AddVirtqueue(LguestAbi.VIRTQUEUE_NUM);
        block.AddFeature(2); // SEG_MAX
        block.AddFeature(9); // FLUSH
        // capacity 2048 sectors, size_max 4096, seg_max 254
        block.SetConfig([0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 0xFE, 0, 0, 0]);
        return block;
    }

    private LguestDevice AddNet()
    {
        LguestDevice net = _bus.AddDevice(1, "net");
        net.AddVirtqueue(LguestAbi.VIRTQUEUE_NUM);
        net.AddVirtqueue(LguestAbi.VIRTQUEUE_NUM);
        net.AddFeature(0); // CSUM
        net.AddFeature(5); // MAC
        net.SetConfig([0x02, 0, 0, 0, 0, 0x01]);
        return net;
    }

    [Fact]
    public void Console_block_and_net_are_laid_out_byte_for_byte_as_lguest_launcher_h_says()
    {
        AddConsole();
        AddBlock();
        AddNet();

        byte[] expected =
        [
            // console: type 3, 2 queues, no features, no config, status 0
            3, 2, 0, 0, 0,
            0x00, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00, 0x00, // num 256, irq 1, pfn 257
            0x00, 0x01, 0x02, 0x00, 0x04, 0x01, 0x00, 0x00, // num 256, irq 2, pfn 260
            // block at 21: type 2, 1 queue, 2 feature bytes, 16 config bytes
            2, 1, 2, 16, 0,
            0x00, 0x01, 0x03, 0x00, 0x07, 0x01, 0x00, 0x00, // num 256, irq 3, pfn 263
            0x04, 0x02, // offered: bits 2 and 9
            0x00, 0x00, // acknowledged
            0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 0xFE, 0, 0, 0,
            // net at 54: type 1, 2 queues, 1 feature byte, 6 config bytes
            1, 2, 1, 6, 0,
            0x00, 0x01, 0x04, 0x00, 0x0A, 0x01, 0x00, 0x00, // num 256, irq 4, pfn 266
            0x00, 0x01, 0x05, 0x00, 0x0D, 0x01, 0x00, 0x00, // num 256, irq 5, pfn 269
            0x21, // offered: bits 0 and 5
            0x00, // acknowledged
            0x02, 0, 0, 0, 0, 0x01,
        ];

        byte[] page = DevicePageBytes();
        Assert.Equal(83, expected.Length);
        Assert.Equal(expected, page[..expected.Length]);
        Assert.True(page.AsSpan(expected.Length).IndexOfAnyExcept((byte)0) < 0, "the rest of the page must stay zero (type 0 ends it)");

        Assert.Equal([DevicePage, DevicePage + 21, DevicePage + 54], _bus.Devices.Select(d => d.DescriptorAddress));
        Assert.Equal(Ram + Page + 15 * Page, _bus.GuestLimit);
        Assert.Equal(272UL, _bus.PageLimit);
    }

    [Fact]
    public void Rings_follow_the_device_page_with_interrupts_from_1()
    {
        AddConsole();
        AddBlock();

        LguestVirtqueueInfo[] queues = _bus.Virtqueues.Select(x => x.Queue).ToArray();

        Assert.Equal([1, 2, 3], queues.Select(q => (int)q.Irq));
        Assert.Equal([257U, 260U, 263U], queues.Select(q => q.Pfn));
        Assert.Equal([0, 1, 0], queues.Select(q => q.Index));
        LguestVirtqueueInfo first = queues[0];
        Assert.Equal(DevicePage + Page, first.RingAddress);
        Assert.Equal(first.RingAddress, first.DescriptorTableAddress);
        Assert.Equal(first.RingAddress + 4096, first.AvailableRingAddress);
        Assert.Equal(first.RingAddress + 8192, first.UsedRingAddress); // avail ends at 4096 + 518: next 4096 boundary
        Assert.Equal(10246UL, first.RingBytes);
        Assert.Equal(3 * Page, queues[1].RingAddress - queues[0].RingAddress);
    }

    [Fact]
    public void Ring_layout_of_a_small_queue_aligns_the_used_ring_to_4096()
    {
        LguestVirtqueueInfo q = _bus.AddDevice(4, "rng").AddVirtqueue(16);

        Assert.Equal(q.RingAddress + 256, q.AvailableRingAddress);
        Assert.Equal(q.RingAddress + 4096, q.UsedRingAddress);
        Assert.Equal(4096UL + 6 + 8 * 16, q.RingBytes);
        Assert.Equal(DevicePage + Page + 2 * Page, _bus.GuestLimit);
    }

    [Fact]
    public void Status_is_read_live_from_guest_memory()
    {
        AddConsole();
        LguestDevice block = AddBlock();
        Assert.Equal(0, block.Status);

        _memory.Write(block.DescriptorAddress + 4, (byte)7);

        Assert.Equal(7, block.Status);
        Assert.Equal(0, _bus.Devices[0].Status);
        Assert.Same(block, _bus.FindDevice(DevicePage + 21));
        Assert.Null(_bus.FindDevice(DevicePage + 22));
    }

    [Fact]
    public void Feature_bitmasks_come_from_the_page_and_a_reset_clears_only_the_acknowledged_half()
    {
        LguestDevice block = AddBlock();
        Assert.Equal((1UL << 2) | (1UL << 9), block.OfferedFeatures);
        Assert.Equal(0UL, block.AcknowledgedFeatures);

        // The guest acknowledges bit 9 by writing the second feature array (after 5 + 8 + 2 bytes).
        _memory.Write(block.DescriptorAddress + 5 + 8 + 2 + 1, (byte)0x02);
        Assert.Equal(1UL << 9, block.AcknowledgedFeatures);

        // A guest scribbling on feature_len must not move where we look.
        _memory.Write(block.DescriptorAddress + 2, (byte)200);
        Assert.Equal(1UL << 9, block.AcknowledgedFeatures);
        Assert.Equal(2, block.FeatureLength);

        block.ResetAcknowledgedFeatures();
        Assert.Equal(0UL, block.AcknowledgedFeatures);
        Assert.Equal((1UL << 2) | (1UL << 9), block.OfferedFeatures);
    }

    [Fact]
    public void Feature_bit_31_is_the_highest_the_guest_can_see()
    {
        LguestDevice device = _bus.AddDevice(2, "block");
        device.AddFeature(31);
        Assert.Equal(4, device.FeatureLength);
        Assert.Equal(1UL << 31, device.OfferedFeatures);

        Assert.Throws<ArgumentOutOfRangeException>(() => device.AddFeature(32));
        Assert.Throws<ArgumentOutOfRangeException>(() => device.AddFeature(-1));
    }

    [Fact]
    public void Config_is_a_live_view_of_guest_memory()
    {
        LguestDevice net = AddNet();

        net.Config[5] = 0x99;

        Assert.Equal(6, net.ConfigLength);
        Assert.Equal(0x99, _memory.Read<byte>(net.ConfigAddress + 5));
        Assert.Equal(net.DescriptorAddress + 5 + 16 + 2, net.ConfigAddress);
    }

    [Fact]
    public void Setting_a_shorter_config_again_leaves_zeroes_behind()
    {
        LguestDevice device = _bus.AddDevice(3, "console");
        device.SetConfig([1, 2, 3, 4]);
        device.SetConfig([9]);

        Assert.Equal(new byte[] { 3, 0, 0, 1, 0, 9, 0, 0, 0, 0 }, DevicePageBytes()[..10]);
        LguestDevice next = _bus.AddDevice(4, "rng");
        Assert.Equal(DevicePage + 6, next.DescriptorAddress);
    }

    [Fact]
    public void Queues_must_come_before_features_and_config_and_features_before_config()
    {
        LguestDevice featured = _bus.AddDevice(2, "block");
        featured.AddFeature(1);
        var e = Assert.Throws<InvalidOperationException>(() => featured.AddVirtqueue());
        Assert.Contains("before features and config", e.Message, StringComparison.Ordinal);

        LguestDevice configured = _bus.AddDevice(3, "console");
        configured.SetConfig([]);
        Assert.Throws<InvalidOperationException>(() => configured.AddVirtqueue());
        e = Assert.Throws<InvalidOperationException>(() => configured.AddFeature(0));
        Assert.Contains("before config", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_last_device_can_change()
    {
        LguestDevice first = _bus.AddDevice(3, "console");
        _bus.AddDevice(4, "rng");

        Assert.Throws<InvalidOperationException>(() => first.AddVirtqueue());
        Assert.Throws<InvalidOperationException>(() => first.AddFeature(0));
        Assert.Throws<InvalidOperationException>(() => first.SetConfig([1]));
    }

    [Fact]
    public void Config_longer_than_255_bytes_is_refused()
    {
        LguestDevice device = _bus.AddDevice(2, "block");
        device.SetConfig(new byte[255]);
        Assert.Throws<ArgumentOutOfRangeException>(() => device.SetConfig(new byte[256]));
        Assert.Equal(255, DevicePageBytes()[3]);
    }

    [Fact]
    public void Type_0_cannot_be_added_because_it_ends_the_page()
        => Assert.Throws<ArgumentOutOfRangeException>(() => _bus.AddDevice(0, "terminator"));

    [Fact]
    public void Devices_fill_the_page_to_its_last_byte_and_then_there_are_too_many()
    {
        // 15 records of 5 + 255 bytes, then one of 5 + 186, bring the next descriptor to 4091: exactly one more fits.
        for (int i = 0; i < 15; i++)
        {
            _bus.AddDevice(3, $"console{i}").SetConfig(new byte[255]);
        }
        _bus.AddDevice(3, "console15").SetConfig(new byte[186]);

        LguestDevice last = _bus.AddDevice(4, "rng");
        Assert.Equal(DevicePage + 4091, last.DescriptorAddress);

        var e = Assert.Throws<InvalidOperationException>(() => _bus.AddDevice(4, "one too many"));
        Assert.Contains("Too many devices", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => last.SetConfig([1]));
        Assert.Throws<InvalidOperationException>(() => last.AddFeature(0));
        Assert.Throws<InvalidOperationException>(() => last.AddVirtqueue());
        Assert.Equal(17, _bus.Devices.Count);
    }

    [Fact]
    public void Config_that_would_run_off_the_page_is_too_many_devices()
    {
        for (int i = 0; i < 15; i++)
        {
            _bus.AddDevice(3, $"console{i}").SetConfig(new byte[255]);
        }
        LguestDevice device = _bus.AddDevice(3, "console15");

        var e = Assert.Throws<InvalidOperationException>(() => device.SetConfig(new byte[255]));
        Assert.Contains("Too many devices", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, device.ConfigLength);
    }

    [Fact]
    public void Thirty_one_queues_use_up_the_interrupt_lines()
    {
        for (int i = 0; i < 31; i++)
        {
            LguestVirtqueueInfo q = _bus.AddDevice(4, $"rng{i}").AddVirtqueue(16);
            Assert.Equal(i + 1, q.Irq);
        }

        LguestDevice extra = _bus.AddDevice(4, "rng31");
        ulong limit = _bus.GuestLimit;
        var e = Assert.Throws<InvalidOperationException>(() => extra.AddVirtqueue(16));
        Assert.Contains("too many virtqueues for 32 interrupt lines", e.Message, StringComparison.Ordinal);
        Assert.Equal(limit, _bus.GuestLimit);
        Assert.Empty(extra.Virtqueues);
    }

    [Fact]
    public void Rings_that_do_not_fit_in_the_device_pages_are_not_enough_memory_and_change_nothing()
    {
        LguestDevice device = _bus.AddDevice(2, "block");
        LguestVirtqueueInfo big = device.AddVirtqueue(32768); // 210 pages
        Assert.Equal(210 * Page, _bus.GuestLimit - DevicePage - Page);

        var e = Assert.Throws<InvalidOperationException>(() => device.AddVirtqueue(32768));
        Assert.Contains("Not enough memory for devices", e.Message, StringComparison.Ordinal);

        LguestVirtqueueInfo small = device.AddVirtqueue(16);
        Assert.Equal(big.Irq + 1, small.Irq);
        Assert.Equal(big.Pfn + 210, small.Pfn);
    }

    [Fact]
    public void Queue_sizes_must_be_powers_of_two()
    {
        LguestDevice device = _bus.AddDevice(2, "block");
        Assert.Throws<ArgumentOutOfRangeException>(() => device.AddVirtqueue(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => device.AddVirtqueue(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => device.AddVirtqueue(65535));
    }

    [Fact]
    public void Ring_pages_are_zeroed_when_handed_out()
    {
        _memory.Write(DevicePage + Page + 100, 0xFFFFFFFFU);
        _memory.Write(DevicePage + 100, (byte)0xFF);

        LguestVirtqueueInfo q = new LguestBus(_memory, Ram).AddDevice(4, "rng").AddVirtqueue(16);

        Assert.Equal(0U, _memory.Read<uint>(q.RingAddress + 100));
        Assert.Equal(0, _memory.Read<byte>(DevicePage + 100));
    }

    [Fact]
    public void The_bus_needs_the_device_pages_above_RAM()
    {
        using GuestMemory small = GuestMemory.CreateFlat(Ram + 10 * Page);
        Assert.Throws<ArgumentException>(() => new LguestBus(small, Ram));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LguestBus(_memory, Ram + 1));
    }
}
