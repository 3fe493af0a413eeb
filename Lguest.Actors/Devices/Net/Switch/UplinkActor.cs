using Akka.Actor;
using Lguest.Actors.Dispatch;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>
/// The switch's port to the host: a tap, served on a thread of its own (the queue dispatcher's event loop), as a
/// guest's queues are. Frames the host sends are switched straight from our read buffer; frames for the host are
/// written from the port's queue. The tap is ours, so a tap that fails is a host failure and escalates; a frame the
/// host will not take is dropped and counted, as a wire would.
/// </summary>
internal sealed class UplinkActor : UntypedActor
{
    /// <summary>Frames per turn in each direction before the mailbox gets a look in.</summary>
    private const int Budget = 64;

    /// <summary>ENOBUFS: the host's queue for the interface is full.</summary>
    private const int NoBufferSpace = 105;

    private readonly SwitchPort _port;
    private readonly FileDescriptor _tap;
    private readonly byte[] _fromHost = new byte[NetProtocol.MaxFrame];
    private readonly byte[] _toHost = new byte[NetProtocol.MaxFrame];
    private EventLoop? _loop;
    private FdWatch? _tapWatch;
    private FdWatch? _doorbellWatch;

    /// <param name="tap">Reads and writes whole frames behind a 12-byte virtio-net header (the tap is set so).</param>
    public UplinkActor(SwitchPort port, FileDescriptor tap)
    {
        _port = port;
        _tap = tap;
    }

    public static Props Props(SwitchPort port, FileDescriptor tap) =>
        Akka.Actor.Props.Create(() => new UplinkActor(port, tap)).WithDispatcher(Dispatchers.Queue);

    protected override void PreStart()
    {
        _loop = EventFdDispatcher.LoopOf(Context);
        _tapWatch = _loop.WatchReadable(_tap, FromHost.Instance, armed: true);
        _doorbellWatch = _loop.WatchReadable(_port.Inbound.Doorbell, ToHost.Instance, armed: true);
        // The tap offloads what any guest may send (checksums, TSO, ECN), so every frame may go to the host.
        _port.Attach(ulong.MaxValue);
        Self.Tell(ToHost.Instance);
    }

    /// <summary>The watches go first, on this loop's thread, so poll() never sees the descriptors closed under it.</summary>
    protected override void PostStop()
    {
        _loop!.Unwatch(_tapWatch!);
        _loop.Unwatch(_doorbellWatch!);
        _port.Detach();
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case FromHost:
                ReadFromHost();
                break;
            case ToHost:
                WriteToHost();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>Why a budget: a flooding host must not keep this thread from frames going the other way.</summary>
    private void ReadFromHost()
    {
        for (int done = 0; done < Budget; done++)
        {
            long read;
            try
            {
                read = NonBlockingIo.TryRead(_tap, _fromHost);
            }
            catch (SystemCallException e)
            {
                throw new HostDeviceException($"switch {_port.Switch.Name}: reading the uplink tap failed: {Errno.Describe(e.Errno)}", e);
            }
            if (read == NonBlockingIo.WouldBlock)
            {
                _loop!.Arm(_tapWatch!, true);
                return;
            }
            _port.Switch.Forward(_port, new BufferFrame(_fromHost, (int)read, NetProtocol.ModernHeaderSize));
        }
        Self.Tell(FromHost.Instance);
    }

    /// <summary>Frames other ports queued for the host, each behind the 12-byte header the tap was set to expect.</summary>
    private void WriteToHost()
    {
        FrameQueue inbound = _port.Inbound;
        for (int done = 0; done < Budget; done++)
        {
            if (!inbound.TryPeekOrArmDoorbell(out FrameSlot slot))
            {
                _loop!.Arm(_doorbellWatch!, true);
                return;
            }
            int frameBytes = slot.Length - slot.HeaderSize;
            slot.Buffer.AsSpan(0, NetProtocol.LegacyHeaderSize).CopyTo(_toHost);
            _toHost[NetProtocol.LegacyHeaderSize] = 0;
            _toHost[NetProtocol.LegacyHeaderSize + 1] = 0;
            slot.Buffer.AsSpan(slot.HeaderSize, frameBytes).CopyTo(_toHost.AsSpan(NetProtocol.ModernHeaderSize));
            inbound.Release(slot);
            Send(NetProtocol.ModernHeaderSize + frameBytes, frameBytes);
        }
        Self.Tell(ToHost.Instance);
    }

    private void Send(int length, int frameBytes)
    {
        try
        {
            FileIo.Write(_tap, _toHost.AsSpan(0, length));
        }
        catch (SystemCallException e) when (e.Errno is Errno.EAGAIN or Errno.EINVAL or Errno.EMSGSIZE or NoBufferSpace)
        {
            _port.Counters.Drop(SwitchDropReason.HostRefused);
            return;
        }
        catch (SystemCallException e)
        {
            throw new HostDeviceException($"switch {_port.Switch.Name}: writing to the uplink tap failed: {Errno.Describe(e.Errno)}", e);
        }
        _port.Counters.Delivered(frameBytes);
    }

    /// <summary>The tap is readable.</summary>
    private sealed class FromHost
    {
        public static readonly FromHost Instance = new();
    }

    /// <summary>The port's doorbell rang, or a turn ended with frames left.</summary>
    private sealed class ToHost
    {
        public static readonly ToHost Instance = new();
    }
}
