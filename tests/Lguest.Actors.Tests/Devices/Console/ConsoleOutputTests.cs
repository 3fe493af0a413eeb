using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Console;

public sealed class ConsoleOutputTests
{
    [Fact]
    public void Output_is_written_in_order()
    {
        using var f = new ConsoleFixture();
        ushort head = f.OutputRing.Offer(f.OutputRing.Readable("hello, "u8), f.OutputRing.Readable("world\n"u8));

        Assert.Equal(DrainResult.RingEmpty, f.OutputRing.Drain(f.Output));

        Assert.Equal((head, 0u), f.OutputRing.Used());
        var text = new byte[64];
        int n = FileIo.Read(f.StdoutRead, text);
        Assert.Equal("hello, world\n"u8.ToArray(), text.AsSpan(0, n).ToArray());
    }

    [Fact]
    public async Task A_chain_bigger_than_the_pipe_is_written_fully_through_short_writes()
    {
        using var f = new ConsoleFixture();
        Pipe.SetCapacity(f.StdoutWrite, 4096);
        byte[] expected = TempFile.Pattern(64 * 4096);
        var buffers = new DriverBuffer[64];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = f.OutputRing.Readable(expected.AsSpan(i * 4096, 4096));
        }
        f.OutputRing.Offer(buffers);
        Task<byte[]> reader = Task.Run(() => ReadExactly(f.StdoutRead, expected.Length));

        Assert.Equal(DrainResult.RingEmpty, f.OutputRing.Drain(f.Output));

        Assert.Equal(expected, await reader.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(expected.Length, f.Device.Counters.BytesWritten);
    }

    [Fact]
    public async Task A_flood_is_served_a_budget_at_a_time()
    {
        using var f = new ConsoleFixture();
        for (int i = 0; i < 200; i++)
        {
            f.OutputRing.Offer(f.OutputRing.Readable(TempFile.Pattern(100, seed: i)));
        }
        Task<byte[]> reader = Task.Run(() => ReadExactly(f.StdoutRead, 200 * 100));

        Assert.Equal(DrainResult.BudgetSpent, f.OutputRing.Drain(f.Output, budget: 64));
        Assert.Equal(64, f.Device.Counters.Requests);
        Assert.Equal(DrainResult.RingEmpty, f.OutputRing.Drain(f.Output, budget: 1000));

        byte[] written = await reader.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TempFile.Pattern(100, seed: 199), written.AsSpan(199 * 100).ToArray());
    }

    [Fact]
    public void Writable_buffers_in_the_output_queue_are_refused()
    {
        using var f = new ConsoleFixture();
        f.OutputRing.Offer(f.OutputRing.Readable("x"u8), f.OutputRing.Writable(4));

        Assert.Throws<GuestRequestException>(() => f.OutputRing.Drain(f.Output));
    }

    [Fact]
    public void A_stdout_that_cannot_be_written_is_a_host_failure()
    {
        using var f = new ConsoleFixture();
        f.StdoutRead.Dispose();
        f.OutputRing.Offer(f.OutputRing.Readable("lost"u8));

        Assert.Throws<HostDeviceException>(() => f.OutputRing.Drain(f.Output));
    }

    private static byte[] ReadExactly(FileDescriptor fd, int length)
    {
        var bytes = new byte[length];
        int done = 0;
        while (done < length)
        {
            int n = FileIo.Read(fd, bytes.AsSpan(done));
            if (n == 0)
            {
                break;
            }
            done += n;
        }
        return bytes[..done];
    }
}
