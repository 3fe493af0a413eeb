using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Supervision;
using Lguest.DeviceTestKit;
using Lguest.Actors.Launcher;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.DeviceSimulation;

/// <summary>
/// The console through the simulated guest's hvc driver, on the whole actor stack, with pipes for stdin and stdout.
/// A flood either way must stay bounded: the launcher holds at most what the guest's buffers can take, never the flood.
/// </summary>
public sealed class ConsoleSimulation(ITestOutputHelper output) : TestKit(TestConfig.Akka, output: output)
{
    private const int FloodBytes = 1 << 20;
    private const int GuestBuffers = 2;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_stdin_flood_reaches_a_starved_guest_in_order_and_the_launcher_takes_only_what_it_can_deliver()
    {
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null);
        byte[] flood = Pattern(FloodBytes);
        long written = 0;
        var writer = Task.Run(() =>
        {
            for (int offset = 0; offset < flood.Length;)
            {
                // At most PIPE_BUF per write, so a write is either all in the pipe or not at all.
                offset += FileIo.Write(rig.Stdin, flood.AsSpan(offset, Math.Min(4096, flood.Length - offset)));
                Volatile.Write(ref written, offset);
            }
        });
        var received = new MemoryStream();
        long mostTaken = 0;

        LauncherExit exit = await rig.RunAsync(Sys, guest =>
        {
            ConsoleDriver console = guest.Console(receiveBuffers: GuestBuffers);
            while (received.Length < FloodBytes)
            {
                byte[] chunk = console.Read(guest.Timeout) ?? throw new TimeoutException($"input stopped after {received.Length} bytes");
                received.Write(chunk);

                // What left the pipe is in the guest's hands or in the buffers it offered: nothing is held on the host.
                // (written is read before the pipe, so a write landing in between can only make this smaller.)
                long taken = Volatile.Read(ref written) - Pipe.Available(rig.StdinReader);
                Assert.True(taken <= received.Length + (GuestBuffers * ConsoleDriver.ReceiveBufferSize),
                    $"the launcher took {taken} bytes from stdin; the guest had {received.Length} and room for {GuestBuffers * ConsoleDriver.ReceiveBufferSize} more");
                mostTaken = Math.Max(mostTaken, taken);
            }
        });

        await writer.WaitAsync(Bound);
        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.True(flood.AsSpan().SequenceEqual(received.ToArray()), "the guest's input differs from what was typed");
        Assert.True(mostTaken > 0);
    }

    [Fact]
    public async Task A_guest_output_flood_reaches_a_slow_reader_in_order_and_the_launcher_never_runs_ahead_of_the_pipe()
    {
        const int chunk = ConsoleDriver.TransmitBufferSize;
        using var rig = new SimulatedGuestRig(GuestErrorPolicy.KillLauncher, null);
        byte[] flood = Pattern(FloodBytes);
        long acknowledged = 0;

        Task<LauncherExit> run = rig.RunAsync(Sys, guest =>
        {
            ConsoleDriver console = guest.Console();
            for (int offset = 0; offset < flood.Length; offset += chunk)
            {
                console.Write(flood.AsSpan(offset, chunk)); // returns when the device has used the buffer
                Volatile.Write(ref acknowledged, offset + chunk);
            }
        });

        byte[] read = new byte[FloodBytes];
        int total = 0;
        while (total < FloodBytes)
        {
            // Every byte the device acknowledged is on stdout already: read by us, or still in the pipe.
            long acked = Volatile.Read(ref acknowledged);
            int inPipe = Pipe.Available(rig.Stdout);
            Assert.True(acked <= total + inPipe, $"the guest had {acked} bytes acknowledged; stdout has seen only {total + inPipe}");

            Assert.True(Poll.WaitReadable(rig.Stdout, Bound), $"stdout went quiet after {total} bytes");
            total += FileIo.Read(rig.Stdout, read.AsSpan(total, Math.Min(512, FloodBytes - total))); // slowly: small reads
        }

        LauncherExit exit = await run;
        Assert.Equal(LauncherExit.PoweredOff, exit.ExitCode);
        Assert.True(flood.AsSpan().SequenceEqual(read), "stdout differs from what the guest wrote");
    }

    private static byte[] Pattern(int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + (i >> 12));
        }
        return bytes;
    }
}
