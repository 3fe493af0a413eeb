using Lguest.Actors.Queues;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// The interrupt line of a vhost-user ring: a write to the front end's call eventfd, which the session has checked is
/// an eventfd and made non-blocking. A counter the front end never reads eventually saturates (EAGAIN): an interrupt
/// is then already pending, so nothing is lost by not adding one. Any other failure is the front end's descriptor
/// failing, which costs its connection, not the launcher.
/// </summary>
internal sealed class FrontEndCallLine(EventFd call) : IInterruptLine, IDisposable
{
    public void Raise()
    {
        try
        {
            call.Signal();
        }
        catch (SystemCallException e) when (e.Errno == Errno.EAGAIN)
        {
        }
        catch (SystemCallException e)
        {
            throw new VhostUserProtocolException(VhostUserViolation.FrontEndResourceFailed, $"the front end's call fd cannot be signalled: {e.Message}");
        }
    }

    public void Dispose() => call.Dispose();
}
