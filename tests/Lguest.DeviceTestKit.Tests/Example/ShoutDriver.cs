using System.Text;
using Lguest.DeviceTestKit.Rig;
using Lguest.DeviceTestKit.Virtqueue;

namespace Lguest.DeviceTestKit.Tests.Example;

/// <summary>
/// The guest's driver for <see cref="ShoutDevice"/>, written as a guest kernel would write it: against the bytes on
/// the ring (the TestKit's <see cref="GuestVirtqueue"/>), never against the device's classes.
/// </summary>
internal sealed class ShoutDriver
{
    private readonly RigGuest _guest;
    private readonly GuestVirtqueue _queue;
    private readonly ulong _message;
    private readonly ulong _answer;

    public ShoutDriver(RigGuest guest, ulong supportedFeatures)
    {
        _guest = guest;
        Bound = guest.Bind(guest.Device(ShoutDevice.Type), supportedFeatures, queues: 1);
        _queue = Bound.Queues[0];
        _message = guest.Heap.Allocate(4096);
        _answer = guest.Heap.Allocate(4096);
    }

    public BoundDevice Bound { get; }

    /// <summary>Sends <paramref name="text"/> with <paramref name="room"/> bytes for the answer; returns the answer.</summary>
    public string Shout(string text, uint room = 256)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        _guest.Hv.Memory.Write(_message, bytes);
        ushort sent = _queue.Add([new DriverBuffer(_message, (uint)bytes.Length, DeviceWritable: false), new DriverBuffer(_answer, room, DeviceWritable: true)]);
        _queue.Kick();
        (ushort head, uint length) = _queue.WaitForUsedOrFail($"shout \"{text}\"");
        if (head != sent)
        {
            throw new SimulatedGuestException($"shout: the device answered request {head}, {sent} was in flight");
        }
        byte[] answer = new byte[length];
        _guest.Hv.Memory.Read(_answer, answer);
        return Encoding.ASCII.GetString(answer);
    }
}
