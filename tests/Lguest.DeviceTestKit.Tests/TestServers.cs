using System.Buffers.Binary;
using System.Text;
using Lguest.Native.Virtio;

namespace Lguest.DeviceTestKit.Tests;

/// <summary>Device sides written for the tests with <see cref="SplitQueue"/> alone: just enough of each device.</summary>
internal static class TestServers
{
    public const ulong RingFeatures = (1UL << 28) | (1UL << 29);

    /// <summary>A console: queue 1's bytes go to <paramref name="output"/>, queue 0 gets <paramref name="input"/> a chunk per buffer.</summary>
    public static TestDevice Console(StringBuilder output, Queue<string>? input = null, ulong features = RingFeatures)
    {
        var held = new Queue<(ushort Head, ChainBuffer[] Writable)>();
        return new TestDevice(3, 2, features, [], (launcher, queue, ring) =>
        {
            var chain = new DescriptorChain();
            if (queue == 1)
            {
                while (ring.TryPop(chain))
                {
                    byte[] bytes = new byte[chain.ReadableBytes];
                    chain.CopyFromReadable(launcher.Memory, 0, bytes);
                    output.Append(Encoding.UTF8.GetString(bytes));
                    ring.AddUsed(chain.HeadIndex, 0);
                }
                return;
            }
            while (ring.TryPop(chain))
            {
                held.Enqueue((chain.HeadIndex, chain.Writable.ToArray()));
            }
            while (input is { Count: > 0 } && held.Count > 0)
            {
                (ushort head, ChainBuffer[] writable) = held.Dequeue();
                byte[] text = Encoding.UTF8.GetBytes(input.Dequeue());
                launcher.Memory.Write(writable[0].Address, text.AsSpan(0, Math.Min(text.Length, (int)writable[0].Length)));
                ring.AddUsed(head, (uint)text.Length);
            }
        });
    }

    /// <summary>A block device over <paramref name="disk"/>; <paramref name="seen"/> records each request's readable descriptor count.</summary>
    public static TestDevice Block(byte[] disk, List<int>? seen = null, ulong features = RingFeatures | (1UL << 9) | (1UL << 2))
    {
        byte[] config = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(config, (ulong)disk.Length / 512);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(12), 126);
        return new TestDevice(2, 1, features, config, (launcher, _, ring) =>
        {
            var chain = new DescriptorChain();
            while (ring.TryPop(chain))
            {
                seen?.Add(chain.ReadableCount);
                byte[] header = new byte[16];
                chain.CopyFromReadable(launcher.Memory, 0, header);
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
                long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8)) * 512;
                int dataIn = (int)chain.WritableBytes - 1;
                byte status = 0;
                uint written = 1;
                switch (type)
                {
                    case 0 when offset + dataIn <= disk.Length:
                        chain.CopyToWritable(launcher.Memory, 0, disk.AsSpan((int)offset, dataIn));
                        written += (uint)dataIn;
                        break;
                    case 1 when offset + ((long)chain.ReadableBytes - 16) <= disk.Length:
                        chain.CopyFromReadable(launcher.Memory, 16, disk.AsSpan((int)offset, (int)chain.ReadableBytes - 16));
                        break;
                    case 4:
                        break;
                    case 8:
                        byte[] id = new byte[20];
                        Encoding.ASCII.GetBytes("lguest-sim-disk").CopyTo(id, 0);
                        chain.CopyToWritable(launcher.Memory, 0, id);
                        written += 20;
                        break;
                    default:
                        status = 1;
                        break;
                }
                chain.CopyToWritable(launcher.Memory, (ulong)dataIn, [status]);
                ring.AddUsed(chain.HeadIndex, written);
            }
        });
    }

    /// <summary>An rng that fills at most <paramref name="most"/> bytes of each buffer with 0xA5.</summary>
    public static TestDevice Rng(int most = int.MaxValue) => new(4, 1, RingFeatures, [], (launcher, _, ring) =>
    {
        var chain = new DescriptorChain();
        while (ring.TryPop(chain))
        {
            byte[] bytes = new byte[Math.Min((long)chain.WritableBytes, most)];
            Array.Fill(bytes, (byte)0xA5);
            chain.CopyToWritable(launcher.Memory, 0, bytes);
            ring.AddUsed(chain.HeadIndex, (uint)bytes.Length);
        }
    });

    /// <summary>A nic with a MAC: frames sent land in <paramref name="sent"/> (header checked and stripped); <paramref name="incoming"/> is delivered.</summary>
    public static TestDevice Net(List<byte[]> sent, Queue<byte[]> incoming, byte[] mac)
    {
        var held = new Queue<(ushort Head, ChainBuffer[] Writable)>();
        return new TestDevice(1, 2, RingFeatures | (1UL << 5) | (1UL << 0), mac, (launcher, queue, ring) =>
        {
            var chain = new DescriptorChain();
            if (queue == 1)
            {
                while (ring.TryPop(chain))
                {
                    byte[] bytes = new byte[chain.ReadableBytes];
                    chain.CopyFromReadable(launcher.Memory, 0, bytes);
                    Assert.All(bytes[..10], b => Assert.Equal(0, b));
                    sent.Add(bytes[10..]);
                    ring.AddUsed(chain.HeadIndex, 0);
                }
                return;
            }
            while (ring.TryPop(chain))
            {
                held.Enqueue((chain.HeadIndex, chain.Writable.ToArray()));
            }
            while (incoming.Count > 0 && held.Count > 0)
            {
                (ushort head, ChainBuffer[] writable) = held.Dequeue();
                byte[] frame = incoming.Dequeue();
                // A legacy driver puts the 10-byte header in a descriptor of its own.
                Assert.Equal(10u, writable[0].Length);
                launcher.Memory.Write(writable[0].Address, new byte[10]);
                launcher.Memory.Write(writable[1].Address, frame);
                ring.AddUsed(head, (uint)(10 + frame.Length));
            }
        });
    }
}
