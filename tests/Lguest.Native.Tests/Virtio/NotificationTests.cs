using Lguest.DeviceTestKit.Virtqueue;
using Lguest.Native.Virtio;

namespace Lguest.Native.Tests.Virtio;

/// <summary>Interrupt and kick suppression, both the flag-based kind and EVENT_IDX across the 16-bit wrap.</summary>
public sealed class NotificationTests
{
    private const ulong Data = RingFixture.DataArea;

    [Theory]
    [InlineData(0, 1, 0, true)] // the entry at used_event was written
    [InlineData(0, 1, 1, false)] // not yet: idx must reach used_event + 1
    [InlineData(5, 3, 7, true)] // last of the batch
    [InlineData(5, 3, 8, false)]
    [InlineData(5, 3, 4, false)] // crossed before the last check
    [InlineData(65534, 3, 65535, true)] // new = 1, across the wrap
    [InlineData(65534, 3, 0, true)]
    [InlineData(65534, 3, 65534, true)]
    [InlineData(65534, 3, 1, false)]
    [InlineData(65534, 3, 65533, false)]
    [InlineData(65535, 1, 65535, true)] // new = 0
    [InlineData(65535, 1, 0, false)]
    public void DeviceInterruptsExactlyWhenUsedIndexCrossesUsedEvent(int oldIndex, int used, int usedEvent, bool expected)
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.EventIndex);
        ring.Device.UsedIndex = (ushort)oldIndex;
        ring.Driver.SetUsedEvent((ushort)usedEvent);
        for (int i = 0; i < used; i++)
        {
            ring.Device.AddUsed((ushort)i, 0);
        }
        Assert.Equal((ushort)(oldIndex + used), ring.Device.UsedIndex);
        Assert.Equal(expected, ring.Device.NeedsNotification());
        // The mark moved: the same completions never ask twice.
        Assert.False(ring.Device.NeedsNotification());
    }

    [Fact]
    public void DeviceHonoursNoInterruptWithoutEventIndex()
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.None);
        Assert.False(ring.Device.NeedsNotification()); // nothing used
        ring.Device.AddUsed(0, 1);
        Assert.True(ring.Device.NeedsNotification());
        Assert.False(ring.Device.NeedsNotification());

        ring.Driver.DisableInterrupts();
        ring.Device.AddUsed(1, 1);
        Assert.False(ring.Device.NeedsNotification());

        ring.Driver.EnableInterrupts();
        ring.Device.AddUsed(2, 1);
        Assert.True(ring.Device.NeedsNotification());
    }

    [Fact]
    public void DriverDisablingInterruptsWithEventIndexSuppressesThemAndKeepsFlagsZero()
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.EventIndex);
        for (int i = 0; i < 8; i++)
        {
            ring.Driver.AddBuffer([new DriverBuffer(Data, 8, true)]);
        }
        ring.Driver.DisableInterrupts();
        Assert.Equal(0, ring.Memory.Read<ushort>(ring.Layout.AvailableRing)); // §2.7.7: flags stay 0 with EVENT_IDX
        for (int i = 0; i < 4; i++)
        {
            Assert.True(ring.Device.TryPop(ring.Chain));
            ring.Device.AddUsed(ring.Chain.HeadIndex, 1);
            Assert.False(ring.Device.NeedsNotification());
        }
        for (int i = 0; i < 4; i++)
        {
            Assert.True(ring.Driver.TryGetUsed(out _, out _));
        }

        ring.Driver.EnableInterrupts(); // used_event = 4: the very next completion signals
        Assert.True(ring.Device.TryPop(ring.Chain));
        ring.Device.AddUsed(ring.Chain.HeadIndex, 1);
        Assert.True(ring.Device.NeedsNotification());

        // Collecting with interrupts on re-arms used_event for the following completion, as Linux's get_buf does.
        Assert.True(ring.Driver.TryGetUsed(out _, out _));
        Assert.True(ring.Device.TryPop(ring.Chain));
        ring.Device.AddUsed(ring.Chain.HeadIndex, 1);
        Assert.True(ring.Device.NeedsNotification());
    }

    [Theory]
    [InlineData(0, 1, 0, true)]
    [InlineData(0, 1, 1, false)]
    [InlineData(10, 2, 11, true)]
    [InlineData(10, 2, 12, false)]
    [InlineData(65534, 3, 65535, true)] // new avail idx = 1, across the wrap
    [InlineData(65534, 3, 0, true)]
    [InlineData(65534, 3, 1, false)]
    [InlineData(65534, 3, 65533, false)]
    public void DriverKicksExactlyWhenAvailIndexCrossesAvailEvent(int oldIndex, int added, int availEvent, bool expected)
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.EventIndex);
        ring.Driver.SetAvailableIndex((ushort)oldIndex);
        // The device's EnableNotifications is what writes avail_event: it asks to hear about entry NextAvailableIndex.
        ring.Device.NextAvailableIndex = (ushort)availEvent;
        ring.Device.EnableNotifications();
        Assert.Equal((ushort)availEvent, ring.Memory.Read<ushort>(ring.Layout.UsedRing + 4 + 8UL * ring.Layout.Size));
        for (int i = 0; i < added; i++)
        {
            ring.Driver.AddBuffer([new DriverBuffer(Data, 8, false)]);
        }
        Assert.Equal(expected, ring.Driver.KickNeeded());
        Assert.False(ring.Driver.KickNeeded());
    }

    [Fact]
    public void DriverHonoursNoNotifyWithoutEventIndex()
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.None);
        Assert.False(ring.Driver.KickNeeded()); // nothing added
        ring.Driver.AddBuffer([new DriverBuffer(Data, 8, false)]);
        Assert.True(ring.Driver.KickNeeded());

        ring.Device.DisableNotifications();
        ring.Driver.AddBuffer([new DriverBuffer(Data, 8, false)]);
        Assert.False(ring.Driver.KickNeeded());

        Assert.True(ring.Device.EnableNotifications()); // two buffers are waiting: do not sleep
        ring.Driver.AddBuffer([new DriverBuffer(Data, 8, false)]);
        Assert.True(ring.Driver.KickNeeded());
    }

    [Fact]
    public void DeviceDisablingNotificationsWithEventIndexLeavesTheRingAlone()
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.EventIndex);
        ring.Device.NextAvailableIndex = 3;
        ring.Device.EnableNotifications();
        ring.Device.DisableNotifications();
        Assert.Equal(0, ring.Memory.Read<ushort>(ring.Layout.UsedRing)); // §2.7.10: used.flags stays 0
        Assert.Equal(3, ring.Memory.Read<ushort>(ring.Layout.UsedRing + 4 + 8UL * ring.Layout.Size));
    }

    [Fact]
    public void EnableNotificationsReportsBuffersThatSlippedIn()
    {
        using var ring = new RingFixture(features: VirtqueueFeatures.None);
        Assert.False(ring.Device.EnableNotifications());
        ring.Driver.AddBuffer([new DriverBuffer(Data, 8, false)]);
        Assert.True(ring.Device.EnableNotifications());
        Assert.True(ring.Device.TryPop(ring.Chain));
        Assert.False(ring.Device.EnableNotifications());
    }
}
