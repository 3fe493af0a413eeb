using System.Buffers.Binary;
using Lguest.Actors.Devices.Net.Switch;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>The hand-off between ports on its own: bounded, in order per sender, and a sleeping consumer is always woken.</summary>
public sealed class FrameQueueTests
{
    [Fact]
    public void A_full_queue_refuses_the_claim_and_a_release_makes_room()
    {
        using var queue = new FrameQueue(3);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(queue.TryClaim(100, out FrameSlot slot));
            slot.Buffer[0] = (byte)i;
            queue.Publish(slot);
        }
        Assert.False(queue.TryClaim(100, out _));
        Assert.Equal(3, queue.Count);

        Assert.True(queue.TryPeek(out FrameSlot first));
        Assert.Equal(0, first.Buffer[0]);
        queue.Release(first);
        Assert.True(queue.TryClaim(70_000, out FrameSlot big)); // a GSO-sized frame grows its slot once
        Assert.True(big.Buffer.Length >= 70_000);
        queue.Publish(big);
        Assert.Equal(3, queue.Discard());
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task Two_senders_and_a_consumer_that_sleeps_on_the_doorbell_lose_nothing()
    {
        const int PerSender = 20_000;
        using var queue = new FrameQueue(64);
        Task[] senders = Enumerable.Range(0, 2).Select(sender => Task.Run(() =>
        {
            for (int i = 0; i < PerSender; i++)
            {
                FrameSlot slot;
                while (!queue.TryClaim(8, out slot))
                {
                    Thread.Yield(); // the consumer is behind: a port would drop here; the test waits to count every frame
                }
                BinaryPrimitives.WriteInt32LittleEndian(slot.Buffer, sender);
                BinaryPrimitives.WriteInt32LittleEndian(slot.Buffer.AsSpan(4), i);
                queue.Publish(slot);
            }
        })).ToArray();

        int[] next = new int[2];
        int received = 0, sleeps = 0;
        while (received < 2 * PerSender)
        {
            if (queue.TryPeek(out FrameSlot slot))
            {
                int sender = BinaryPrimitives.ReadInt32LittleEndian(slot.Buffer);
                Assert.Equal(next[sender]++, BinaryPrimitives.ReadInt32LittleEndian(slot.Buffer.AsSpan(4)));
                queue.Release(slot);
                received++;
                continue;
            }
            if (!queue.ArmDoorbell())
            {
                // A lost wakeup would leave frames published and this wait unanswered.
                sleeps++;
                Assert.True(Poll.WaitReadable(queue.Doorbell, TimeSpan.FromSeconds(30)), $"asleep with {received} of {2 * PerSender} frames taken");
            }
        }
        await Task.WhenAll(senders);
        Assert.Equal([PerSender, PerSender], next);
        Assert.True(sleeps > 0, "the consumer never slept, so the doorbell was not exercised");
    }
}
