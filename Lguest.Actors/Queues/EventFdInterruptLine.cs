using Lguest.Native.Interop;

namespace Lguest.Actors.Queues;

/// <summary>
/// vhost-user's interrupt: a write to the call eventfd the front end gave us, which QEMU (or KVM's irqfd) turns
/// into the guest's interrupt. The line owns the eventfd.
/// </summary>
public sealed class EventFdInterruptLine(EventFd call) : IInterruptLine, IDisposable
{
    public void Raise() => call.Signal();

    public void Dispose() => call.Dispose();
}
