using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>A driver and a device passing buffers back and forth long enough for every index to wrap.</summary>
public sealed class RoundTripTests
{
    [Theory]
    [InlineData(VirtqueueFeatures.None)]
    [InlineData(VirtqueueFeatures.IndirectDescriptors)]
    [InlineData(VirtqueueFeatures.IndirectDescriptors | VirtqueueFeatures.EventIndex)]
    public void BuffersRoundTripAcrossManyWraps(VirtqueueFeatures features)
    {
        using var ring = new RingFixture(size: 8, features);
        var random = new Random(1234);
        var expected = new Queue<(ushort Head, uint Length)>();
        bool indirect = (features & VirtqueueFeatures.IndirectDescriptors) != 0;
        int completed = 0;
        int tableSlot = 0;
        byte[] reply = new byte[64];
        Span<DriverBuffer> buffers = stackalloc DriverBuffer[4];

        while (completed < 3 * 65536 / 2)
        {
            // Driver: offer a few requests of 1-4 descriptors, some through indirect tables.
            int requests = random.Next(1, 4);
            for (int r = 0; r < requests; r++)
            {
                int count = random.Next(1, 5);
                int readable = random.Next(0, count + 1);
                for (int i = 0; i < count; i++)
                {
                    buffers[i] = new DriverBuffer(RingFixture.DataArea + (ulong)(r * 0x1000 + i * 0x100), (uint)random.Next(1, 0x100), i >= readable);
                }
                bool useIndirect = indirect && random.Next(2) == 0;
                if (useIndirect ? ring.Driver.FreeDescriptorCount == 0 : ring.Driver.FreeDescriptorCount < count)
                {
                    break;
                }
                ushort head = useIndirect
                    ? ring.Driver.AddIndirectBuffer(buffers[..count], RingFixture.TableArea + (ulong)(tableSlot++ % 16) * 0x100)
                    : ring.Driver.AddBuffer(buffers[..count]);
                ulong writable = 0;
                for (int i = readable; i < count; i++)
                {
                    writable += buffers[i].Length;
                }
                expected.Enqueue((head, (uint)Math.Min(writable, (ulong)reply.Length)));
            }
            ring.Driver.KickNeeded();

            // Device: take everything offered, answer into the writable part.
            while (ring.Device.TryPop(ring.Chain))
            {
                random.NextBytes(reply);
                int written = ring.Chain.CopyToWritable(ring.Memory, 0, reply);
                ring.Device.AddUsed(ring.Chain.HeadIndex, (uint)written);
            }
            ring.Device.NeedsNotification();

            // Driver: collect, in order, with the lengths the device reported.
            while (ring.Driver.TryGetUsed(out ushort head, out uint length))
            {
                (ushort Head, uint Length) next = expected.Dequeue();
                Assert.Equal(next.Head, head);
                Assert.Equal(next.Length, length);
                completed++;
            }
            Assert.Empty(expected);
            Assert.Equal(8, ring.Driver.FreeDescriptorCount);
        }

        Assert.False(ring.Device.IsPoisoned);
        Assert.Equal(ring.Driver.AvailableIndex, ring.Device.NextAvailableIndex);
        Assert.Equal((ushort)completed, ring.Device.UsedIndex);
    }
}
