using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Console;

[Collection(TerminalGuardTests.Collection)]
public sealed class ConsoleInputTests
{
    [Fact]
    public void Input_goes_straight_into_the_guests_buffers()
    {
        using var f = new ConsoleFixture();
        DriverBuffer buffer = f.InputRing.Writable(64);
        ushort head = f.InputRing.Offer(buffer);
        f.Type("hello"u8);

        Assert.Equal(DrainResult.SourceEmpty, f.InputRing.Drain(f.Input));

        Assert.Equal((head, 5u), f.InputRing.Used());
        Assert.Equal("hello"u8.ToArray(), f.InputRing.Contents(buffer).AsSpan(0, 5).ToArray());
        Assert.Equal(5, f.Device.Counters.BytesRead);
    }

    [Fact]
    public void With_nothing_typed_the_buffer_stays_in_the_ring()
    {
        using var f = new ConsoleFixture();
        DriverBuffer buffer = f.InputRing.Writable(64);
        f.InputRing.Offer(buffer);

        Assert.Equal(DrainResult.SourceEmpty, f.InputRing.Drain(f.Input));
        Assert.False(f.InputRing.TryUsed(out _, out _));

        f.Type("x"u8);
        Assert.Equal(DrainResult.SourceEmpty, f.InputRing.Drain(f.Input));
        Assert.Equal(1u, f.InputRing.Used().Length);
    }

    [Fact]
    public void Typed_input_waits_in_the_kernel_until_the_guest_offers_a_buffer_and_only_a_buffers_worth_is_taken()
    {
        using var f = new ConsoleFixture();
        f.Type(TempFile.Pattern(60_000));

        Assert.Equal(DrainResult.RingEmpty, f.InputRing.Drain(f.Input));
        Assert.Equal(60_000, Pipe.Available(f.StdinRead));

        DriverBuffer buffer = f.InputRing.Writable(100);
        f.InputRing.Offer(buffer);
        Assert.Equal(DrainResult.RingEmpty, f.InputRing.Drain(f.Input));

        Assert.Equal(100u, f.InputRing.Used().Length);
        Assert.Equal(TempFile.Pattern(100), f.InputRing.Contents(buffer));
        Assert.Equal(59_900, Pipe.Available(f.StdinRead));
    }

    [Fact]
    public void End_of_input_stops_the_console_input_and_nothing_else()
    {
        using var f = new ConsoleFixture();
        f.InputRing.Offer(f.InputRing.Writable(64));
        f.StdinWrite.Dispose();

        Assert.Equal(DrainResult.RingEmpty, f.InputRing.Drain(f.Input));
        Assert.True(f.Device.Input.Ended);
        Assert.False(f.InputRing.TryUsed(out _, out _));

        // Later buffers are kept out of the ring, so neither the ring nor the dead stdin wakes the queue again.
        f.InputRing.Offer(f.InputRing.Writable(64));
        f.InputRing.Offer(f.InputRing.Writable(64));
        Assert.Equal(DrainResult.RingEmpty, f.InputRing.Drain(f.Input));
        Assert.False(f.InputRing.Device.EnableNotifications());
        Assert.Equal(3, f.Device.Input.HeldChains);
        Assert.Equal(0, f.Aborts);

        // Output carries on.
        f.OutputRing.Offer(f.OutputRing.Readable("still here"u8));
        Assert.Equal(DrainResult.RingEmpty, f.OutputRing.Drain(f.Output));
        var text = new byte[10];
        Assert.Equal(10, FileIo.Read(f.StdoutRead, text));
    }

    [Fact]
    public void Readable_buffers_in_the_input_queue_are_refused()
    {
        using var f = new ConsoleFixture();
        f.InputRing.Offer(f.InputRing.Readable("x"u8), f.InputRing.Writable(8));
        f.Type("a"u8);

        Assert.Throws<GuestRequestException>(() => f.InputRing.Drain(f.Input));
    }

    [Fact]
    public void Three_lone_control_cs_within_a_second_abort()
    {
        using var f = new ConsoleFixture();
        for (int i = 0; i < 3; i++)
        {
            f.InputRing.Offer(f.InputRing.Writable(16));
            f.Type([3]);
            f.InputRing.Drain(f.Input);
            f.Now += 300;
        }

        Assert.Equal(1, f.Aborts);
    }

    [Fact]
    public void Slow_or_mixed_control_cs_do_not_abort()
    {
        using var f = new ConsoleFixture();
        void Press(ReadOnlySpan<byte> bytes, long after)
        {
            f.Now += after;
            f.InputRing.Offer(f.InputRing.Writable(16));
            f.Type(bytes);
            f.InputRing.Drain(f.Input);
        }

        Press([3], 0);
        Press([3], 600);
        Press([3], 600); // third lands 1.2 s after the first
        Press([3], 0);
        Press("a"u8, 0); // an ordinary key resets the count
        Press([3], 0);
        Press([3, 3], 0); // two at once are data, not a ^C

        Assert.Equal(0, f.Aborts);
    }

    [Fact]
    public void A_pipe_is_not_put_in_raw_mode()
    {
        using var f = new ConsoleFixture();

        Assert.False(TerminalGuard.IsRaw);
        Assert.Equal("console", f.Device.Describe());
        Assert.Equal(3, f.Device.DeviceType);
        Assert.Equal(["input", "output"], f.Device.Queues.Select(q => q.Name));
    }
}
