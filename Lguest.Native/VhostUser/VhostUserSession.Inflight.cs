using Lguest.Native.Interop;

namespace Lguest.Native.VhostUser;

/// <summary>GET_INFLIGHT_FD and SET_INFLIGHT_FD (protocol feature INFLIGHT_SHMFD): the region that survives our restarts.</summary>
public sealed partial class VhostUserSession
{
    /// <summary>
    /// Why: the front end keeps this region across our restarts and hands it back with SET_INFLIGHT_FD, so a new
    /// process can finish what the old one took. A fresh zeroed memfd is laid out for the queues the front end names;
    /// it becomes this connection's region at once, as libvhost-user does, until a SET_INFLIGHT_FD replaces it.
    /// </summary>
    private VhostUserOutcome GetInflightFd(VhostUserInflight request)
    {
        RequireOwner(VhostUserRequest.GetInflightFd);
        RequireNegotiated(VhostUserRequest.GetInflightFd, VhostUserProtocolFeatures.InflightShmfd);
        RequireNoRingRunning(VhostUserRequest.GetInflightFd);
        (VhostUserInflightRegion region, FileDescriptor fd) = VhostUserInflightRegion.Create(request.NumQueues, request.QueueSize, _vrings.Length);
        ReplaceInflight(region);
        return new VhostUserOutcome(VhostUserRequest.GetInflightFd, region.Description, null, fd);
    }

    private void SetInflightFd(VhostUserMessage message)
    {
        RequireOwner(VhostUserRequest.SetInflightFd);
        RequireNegotiated(VhostUserRequest.SetInflightFd, VhostUserProtocolFeatures.InflightShmfd);
        RequireNoRingRunning(VhostUserRequest.SetInflightFd);
        ReplaceInflight(VhostUserInflightRegion.Adopt(message.PeekFd(0), message.PayloadAs<VhostUserInflight>(), _vrings.Length));
    }

    /// <summary>A running ring writes into the region: swapping it under the ring would lose what it records.</summary>
    private void RequireNoRingRunning(VhostUserRequest request)
    {
        if (_vrings.FirstOrDefault(ring => ring.Running) is { } running)
        {
            throw Refuse(VhostUserViolation.RingStarted, $"{request} while vring {running.Index} is running (stop it with GET_VRING_BASE first)");
        }
    }

    private void ReplaceInflight(VhostUserInflightRegion region)
    {
        _inflight?.Dispose();
        _inflight = region;
    }
}
