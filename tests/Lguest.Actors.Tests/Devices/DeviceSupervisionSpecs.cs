using Akka.Actor;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Queues;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Devices;

/// <summary>restart-device as the device actor applies it: what counts as a guest fault, and what it costs.</summary>
public sealed class DeviceSupervisionSpecs : TestKit
{
    private const ulong MemorySize = 1 << 20;

    public DeviceSupervisionSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output)
    {
    }

    [Fact]
    public void A_guest_fault_in_a_queues_start_follows_restart_device_instead_of_escalating()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(MemorySize);
        var escalated = new List<Exception>();
        IActorRef device = ChildActorOf(
            DeviceActor.Props(new EchoDevice("prestart", 1), Policy(maxRestarts: 3), ownsDevice: false),
            new OneForOneStrategy(e =>
            {
                escalated.Add(e);
                return Directive.Stop;
            }));

        device.Tell(new DeviceProtocol.StartQueue(memory, 0, RingOutsideMemory(0, memory)));
        ExpectMsg<DeviceProtocol.QueueStarted>();

        var reset = ExpectMsg<DeviceProtocol.NeedsReset>(TimeSpan.FromSeconds(10));
        Assert.Contains("outside", reset.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(escalated);
    }

    [Fact]
    public void Faults_of_several_queues_in_one_go_spend_one_restart()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(MemorySize);
        var escalated = new List<Exception>();
        var budget = new RestartBudget(Policy(maxRestarts: 1));
        IActorRef device = ChildActorOf(
            DeviceActor.Props(new EchoDevice("burst", 2), Policy(maxRestarts: 1), ownsDevice: false, budget: budget),
            new OneForOneStrategy(e =>
            {
                escalated.Add(e);
                return Directive.Stop;
            }));

        device.Tell(new DeviceProtocol.StartQueue(memory, 0, RingOutsideMemory(0, memory)));
        device.Tell(new DeviceProtocol.StartQueue(memory, 0, RingOutsideMemory(1, memory)));
        ExpectMsg<DeviceProtocol.QueueStarted>();
        ExpectMsg<DeviceProtocol.QueueStarted>();

        ExpectMsg<DeviceProtocol.NeedsReset>(TimeSpan.FromSeconds(10));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Empty(escalated);
        // The one restart the window allowed is spent: the budget, shared across connections, has nothing left.
        Assert.Null(budget.TrySpend());
    }

    [Fact]
    public void Rings_started_after_a_fault_and_before_the_reset_are_not_served_and_spend_nothing()
    {
        using GuestMemory memory = GuestMemory.CreateFlat(MemorySize);
        var escalated = new List<Exception>();
        var budget = new RestartBudget(Policy(maxRestarts: 1));
        IActorRef device = ChildActorOf(
            DeviceActor.Props(new EchoDevice("queued", 1), Policy(maxRestarts: 1), ownsDevice: false, budget: budget),
            new OneForOneStrategy(e =>
            {
                escalated.Add(e);
                return Directive.Stop;
            }));
        device.Tell(new DeviceProtocol.StartQueue(memory, 0, RingOutsideMemory(0, memory)));
        ExpectMsg<DeviceProtocol.QueueStarted>();
        ExpectMsg<DeviceProtocol.NeedsReset>(TimeSpan.FromSeconds(10));

        // A front end's queued SET_VRING_KICKs restart the same bad ring before its connection drops.
        for (int i = 0; i < 3; i++)
        {
            device.Tell(new DeviceProtocol.StartQueue(memory, 0, RingOutsideMemory(0, memory)));
            ExpectMsg<DeviceProtocol.QueueStarted>();
        }
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Empty(escalated);

        // Once the device is reset, rings are served again.
        device.Tell(new DeviceProtocol.Reset());
        ExpectMsg<DeviceProtocol.WasReset>();
        using var kick = EventFd.Create();
        device.Tell(new DeviceProtocol.StartQueue(memory, 0, new QueueWiring(
            0, "q0", memory, SplitQueueLayout.Legacy(0x10000, 8, 4096), VirtqueueFeatures.None, EventFd.Adopt(kick.Descriptor.Duplicate()), new NullInterrupt())));
        ExpectMsg<DeviceProtocol.QueueStarted>();
        device.Tell(new DeviceProtocol.StopQueue(0));
        Assert.Equal(0, ExpectMsg<DeviceProtocol.QueueStopped>().Index);
    }

    private static SupervisionSettings Policy(int maxRestarts) => new(GuestErrorPolicy.RestartDevice, maxRestarts, TimeSpan.FromMinutes(10));

    /// <summary>A ring whose used index lies past the end of guest memory: resuming it reads outside, in PreStart.</summary>
    private static QueueWiring RingOutsideMemory(int index, GuestMemory memory)
    {
        var layout = SplitQueueLayout.Legacy(MemorySize - 0x1000 + (ulong)index * 0x100, 8, 4096);
        return new QueueWiring(index, $"q{index}", memory, layout, VirtqueueFeatures.None, EventFd.Create(), new NullInterrupt(), new RingPosition(0, resumeUsed: true));
    }

    private sealed class NullInterrupt : IInterruptLine
    {
        public void Raise()
        {
        }
    }
}
