using Lguest.Native.Interop;
using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.VhostUser;

/// <summary>SET_VRING_* and GET_VRING_BASE: each ring's size, base, addresses, descriptors and enable, and when it starts and stops.</summary>
public sealed partial class VhostUserSession
{
    private void SetVringNum(VhostUserVringState state)
    {
        VhostUserVring ring = RingForConfiguration(VhostUserRequest.SetVringNum, state.Index);
        uint size = state.Num;
        if (size == 0 || size > 32768 || (size & (size - 1)) != 0)
        {
            throw Refuse(VhostUserViolation.QueueSizeInvalid, $"SET_VRING_NUM {size} for vring {state.Index}: a split ring's size is a power of two from 1 to 32768");
        }
        ring.Size = (ushort)size;
        // The old address described a ring of the old size; a new SET_VRING_ADDR must follow.
        ring.Address = null;
        ring.Layout = null;
    }

    private void SetVringBase(VhostUserVringState state)
    {
        VhostUserVring ring = RingForConfiguration(VhostUserRequest.SetVringBase, state.Index);
        if (state.Num > ushort.MaxValue)
        {
            throw Refuse(VhostUserViolation.VringBaseInvalid, $"SET_VRING_BASE {state.Num} for vring {state.Index} does not fit a split ring's 16-bit index");
        }
        ring.Base = (ushort)state.Num;
    }

    private void SetVringAddress(VhostUserVringAddress address)
    {
        RequireOwner(VhostUserRequest.SetVringAddr);
        VhostUserVring ring = Ring(VhostUserRequest.SetVringAddr, address.Index);
        GuestMemory memory = Memory ?? throw Refuse(VhostUserViolation.MemoryTableMissing, $"SET_VRING_ADDR for vring {address.Index} before SET_MEM_TABLE");
        ushort size = ring.Size ?? throw Refuse(VhostUserViolation.RingSizeMissing, $"SET_VRING_ADDR for vring {address.Index} before SET_VRING_NUM");
        SplitQueueLayout layout = VhostUserRingLayout.Resolve(memory, size, address);
        // Allowed on a started ring (the spec lets logging be switched on the fly): the server restarts on the new layout.
        Stop(ring);
        ring.Address = address;
        ring.Layout = layout;
        Sync(ring);
    }

    private VhostUserVringState GetVringBase(VhostUserVringState state)
    {
        RequireOwner(VhostUserRequest.GetVringBase);
        VhostUserVring ring = Ring(VhostUserRequest.GetVringBase, state.Index);
        Stop(ring);
        ring.Started = false;
        ring.Kick?.Dispose();
        ring.Kick = null;
        return new VhostUserVringState(state.Index, ring.Base);
    }

    private void SetVringFile(VhostUserMessage message)
    {
        var file = message.PayloadAs<VhostUserVringFile>();
        RequireOwner(message.Request);
        VhostUserVring ring = Ring(message.Request, file.Index);
        if (message.Request == VhostUserRequest.SetVringKick)
        {
            // QEMU sends CALL (and ERR) while initialising, before any memory; a kick starts the ring, so it needs both.
            if (Memory is null)
            {
                throw Refuse(VhostUserViolation.MemoryTableMissing, $"SET_VRING_KICK for vring {file.Index} before SET_MEM_TABLE");
            }
            if (ring.Layout is null)
            {
                throw Refuse(VhostUserViolation.RingAddressMissing, $"SET_VRING_KICK for vring {file.Index} before SET_VRING_ADDR");
            }
        }

        // Everything is checked before anything changes, so a refused message leaves the ring as it was (still served,
        // with its old descriptors): a kick without a descriptor asks for polling, which this back end does not do.
        if (file.NoFd && message.Request == VhostUserRequest.SetVringKick)
        {
            throw Refuse(VhostUserViolation.VringFileInvalid, $"SET_VRING_KICK for vring {file.Index} without a descriptor asks for polling mode, which is not supported");
        }
        if (!file.NoFd && EventFdCheck.Accept(message.PeekFd(0)) is { } notEventFd)
        {
            throw Refuse(VhostUserViolation.VringFileInvalid, $"{message.Request} for vring {file.Index}: {notEventFd}");
        }

        FileDescriptor? fd = file.NoFd ? null : message.TakeFd(0);
        // The server holds the old descriptor while running: stop it before closing that, restart with the new one.
        Stop(ring);
        switch (message.Request)
        {
            case VhostUserRequest.SetVringKick:
                ring.Kick?.Dispose();
                ring.Kick = fd;
                ring.Started = true;
                break;
            case VhostUserRequest.SetVringCall:
                ring.Call?.Dispose();
                ring.Call = fd;
                break;
            default:
                ring.Err?.Dispose();
                ring.Err = fd;
                break;
        }
        Sync(ring);
    }

    private void SetVringEnable(VhostUserVringState state)
    {
        RequireOwner(VhostUserRequest.SetVringEnable);
        VhostUserVring ring = Ring(VhostUserRequest.SetVringEnable, state.Index);
        // QEMU's vhost-user net disables its rings while it initialises, before SET_FEATURES. QEMU itself and
        // libvhost-user only require PROTOCOL_FEATURES to be offered, which it always is here, so the request is
        // taken at any time; whether the front end's setting gates the ring still depends on PROTOCOL_FEATURES
        // being acked (see Sync).
        if (state.Num > 1)
        {
            throw Refuse(VhostUserViolation.VringEnableInvalid, $"SET_VRING_ENABLE {state.Num} for vring {state.Index}: only 0 and 1 mean anything");
        }
        ring.EnabledByFrontEnd = state.Num == 1;
        Sync(ring);
    }

    /// <summary>The ring for SET_VRING_NUM / SET_VRING_BASE: owner, memory, a valid index, and not started.</summary>
    private VhostUserVring RingForConfiguration(VhostUserRequest request, uint index)
    {
        RequireOwner(request);
        VhostUserVring ring = Ring(request, index);
        if (Memory is null)
        {
            throw Refuse(VhostUserViolation.MemoryTableMissing, $"{request} for vring {index} before SET_MEM_TABLE");
        }
        if (ring.Started)
        {
            throw Refuse(VhostUserViolation.RingStarted, $"{request} for vring {index} while it is started (stop it with GET_VRING_BASE first)");
        }
        return ring;
    }

    private VhostUserVring Ring(VhostUserRequest request, uint index)
    {
        if (index >= (uint)_vrings.Length)
        {
            throw Refuse(VhostUserViolation.VringIndexOutOfRange, $"{request} names vring {index}; the device has {_vrings.Length}");
        }
        return _vrings[index];
    }

    /// <summary>Tells the ring control to stop a running ring and keeps where it stopped as the ring's base.</summary>
    private void Stop(VhostUserVring ring)
    {
        if (ring.Running)
        {
            ring.Base = _control.StopRing(ring.Index);
            ring.Running = false;
        }
    }

    /// <summary>Starts or stops the ring so that <see cref="VhostUserVring.Running"/> matches whether it can run.</summary>
    private void Sync(VhostUserVring ring)
    {
        bool runnable = Memory is not null && ring.Layout is not null && ring.Started && ring.IsEnabled(ProtocolFeaturesAcked);
        if (ring.Running && !runnable)
        {
            Stop(ring);
        }
        else if (!ring.Running && runnable)
        {
            _control.StartRing(new VhostUserRingStart(
                ring.Index, Memory!, ring.Layout!.Value, VirtqueueFeatureBits.FromNegotiated(AckedFeatures), ring.Base, ring.Kick, ring.Call, ring.Err,
                _inflight?.TrackerFor(ring.Index, ring.Layout!.Value.Size)));
            ring.Running = true;
        }
    }
}
