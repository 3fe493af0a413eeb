using System.Buffers.Binary;
using Akka.Event;
using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Queues;
using Lguest.Native.Interop;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Tests.Devices.Block;

/// <summary>A block device over a scratch file, its handler, and a ring to send it requests.</summary>
internal sealed class BlockFixture : IDisposable
{
    public BlockFixture(byte[] contents, bool readOnly = false, Action<FileDescriptor>? flush = null)
    {
        File = new TempFile(contents);
        Original = contents;
        Device = new BlockDevice(new BlockSettings(File.Path, readOnly), NoLogger.Instance, flush ?? (_ => Flushes++));
        Handler = Device.Queues[0].CreateHandler!();
        Ring = new QueueHarness();
    }

    public TempFile File { get; }

    public byte[] Original { get; }

    public BlockDevice Device { get; }

    public IQueueHandler Handler { get; }

    public QueueHarness Ring { get; }

    public int Flushes { get; private set; }

    public static byte[] Header(uint type, ulong sector)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, type);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), sector);
        return header;
    }

    /// <summary>Offers a request of the given buffers, drains, and returns the status byte and used length.</summary>
    public (byte Status, uint Used) Run(DriverBuffer status, params DriverBuffer[] buffers)
    {
        Ring.Offer(buffers);
        Assert.Equal(DrainResult.RingEmpty, Ring.Drain(Handler));
        (_, uint used) = Ring.Used();
        return (Ring.Contents(status)[0], used);
    }

    /// <summary>A read of <paramref name="length"/> bytes from <paramref name="sector"/>: status, used, data.</summary>
    public (byte Status, uint Used, byte[] Data) Read(ulong sector, uint length)
    {
        DriverBuffer data = Ring.Writable(length);
        DriverBuffer status = Ring.Writable(1);
        (byte s, uint used) = Run(status, Ring.Readable(Header(BlockProtocol.TypeIn, sector)), data, status);
        return (s, used, Ring.Contents(data));
    }

    public (byte Status, uint Used) Write(ulong sector, byte[] data)
    {
        DriverBuffer status = Ring.Writable(1);
        return Run(status, Ring.Readable(Header(BlockProtocol.TypeOut, sector)), Ring.Readable(data), status);
    }

    public (byte Status, uint Used) Simple(uint type, ulong sector = 0)
    {
        DriverBuffer status = Ring.Writable(1);
        return Run(status, Ring.Readable(Header(type, sector)), status);
    }

    public void Dispose()
    {
        Handler.Dispose();
        Device.Dispose();
        Ring.Dispose();
        File.Dispose();
    }
}
