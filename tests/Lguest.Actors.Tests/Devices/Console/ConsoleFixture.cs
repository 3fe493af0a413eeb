using Akka.Event;
using Lguest.Actors.Devices.Console;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Devices.Console;

/// <summary>A console on two pipes: the test types into one and reads the guest's output from the other.</summary>
internal sealed class ConsoleFixture : IDisposable
{
    public ConsoleFixture()
    {
        (StdinRead, StdinWrite) = Pipe.Create();
        (StdoutRead, StdoutWrite) = Pipe.Create();
        Device = new ConsoleDevice(StdinRead, StdoutWrite, NoLogger.Instance, () => Aborts++, () => Now);
        Input = Device.Queues[0].CreateHandler!();
        Output = Device.Queues[1].CreateHandler!();
        InputRing = new QueueHarness();
        OutputRing = new QueueHarness();
    }

    public FileDescriptor StdinRead { get; }

    public FileDescriptor StdinWrite { get; }

    public FileDescriptor StdoutRead { get; }

    public FileDescriptor StdoutWrite { get; }

    public ConsoleDevice Device { get; }

    public IQueueHandler Input { get; }

    public IQueueHandler Output { get; }

    public QueueHarness InputRing { get; }

    public QueueHarness OutputRing { get; }

    public int Aborts { get; private set; }

    public long Now { get; set; } = 1_000_000;

    public void Type(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[FileIo.Write(StdinWrite, bytes)..];
        }
    }

    public void Dispose()
    {
        Input.Dispose();
        Output.Dispose();
        Device.Dispose();
        InputRing.Dispose();
        OutputRing.Dispose();
        StdinRead.Dispose();
        StdinWrite.Dispose();
        StdoutRead.Dispose();
        StdoutWrite.Dispose();
    }
}
