using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Lguest.Native.Virtio;

namespace Lguest.Fuzz.Targets;

/// <summary>
/// The vhost-user decoder and session, fed a whole connection: records of one descriptor byte (bits 0-3: how many
/// descriptors ride along, bit 7: memfds of 64 KiB instead of eventfds), a 12-byte header and up to its size of
/// payload. Each decoded message goes to one session whose ring control checks the session never starts a ring twice,
/// never stops one it did not start, and stops every ring before memory changes. Refusals must be
/// <see cref="VhostUserProtocolException"/>.
/// </summary>
internal sealed class VhostUserTarget : IFuzzTarget
{
    private const ulong RegionSize = 64 * 1024;
    private static readonly byte[] ConfigSpace = new byte[60];

    public string Name => "vhost-user";

    public int Progress { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        var control = new CheckingRingControl();
        var options = new VhostUserDeviceOptions(
            2,
            1UL << VirtqueueFeatureBits.IndirectDescriptors | 1UL << VirtqueueFeatureBits.EventIndex,
            VhostUserProtocolFeatures.MultiQueue | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ResetDevice,
            () => ConfigSpace,
            (offset, data) => data.Span.CopyTo(ConfigSpace.AsSpan((int)offset)));
        using (var session = new VhostUserSession(options, control))
        {
            while (input.Length >= 1 + VhostUserHeader.Length)
            {
                byte fdSpec = input[0];
                VhostUserHeader header = VhostUserHeader.Parse(input[1..]);
                input = input[(1 + VhostUserHeader.Length)..];
                int payloadLength = (int)Math.Min(header.Size, (uint)input.Length);
                ReadOnlySpan<byte> payload = input[..payloadLength];
                input = input[payloadLength..];
                if (!Deliver(session, header, payload, Descriptors(fdSpec)))
                {
                    break;
                }
            }
        }
        control.CheckAllStopped();
        Progress = control.Starts;
    }

    public IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        yield return ("qemu-handshake", VhostUserSeeds.QemuHandshake());
        yield return ("reset-and-retable", VhostUserSeeds.ResetAndRetable());
    }

    /// <summary>One message through decoder and session; false when the connection would be dropped.</summary>
    private static bool Deliver(VhostUserSession session, VhostUserHeader header, ReadOnlySpan<byte> payload, List<FileDescriptor> fds)
    {
        try
        {
            VhostUserMessage message = VhostUserCodec.Decode(header, payload, fds, isReply: false);
            VhostUserOutcome outcome = session.Handle(message);
            if (outcome.Reply is { } reply)
            {
                _ = VhostUserCodec.EncodeReply(outcome.Request, reply);
            }
            return true;
        }
        catch (VhostUserProtocolException)
        {
            return false;
        }
    }

    private static List<FileDescriptor> Descriptors(byte spec)
    {
        int count = spec & 0x0f;
        var fds = new List<FileDescriptor>(count);
        for (int i = 0; i < count; i++)
        {
            fds.Add((spec & 0x80) != 0 ? MemFd.Create("lguest-fuzz", RegionSize) : EventFd.Create(nonBlocking: true).Descriptor);
        }
        return fds;
    }

    /// <summary>The actor layer's side, reduced to the promises <see cref="IVhostUserRingControl"/> makes.</summary>
    private sealed class CheckingRingControl : IVhostUserRingControl
    {
        private readonly Dictionary<int, (SplitQueue Queue, ushort Base)> _running = [];
        private readonly DescriptorChain _chain = new();

        public int Starts { get; private set; }

        public void StartRing(VhostUserRingStart ring)
        {
            if (_running.ContainsKey(ring.Index))
            {
                throw new FuzzInvariantException($"ring {ring.Index} started twice");
            }
            // The session validated the layout against this memory: a queue over it must build.
            var queue = new SplitQueue(ring.Memory, ring.Layout, ring.Features) { NextAvailableIndex = ring.Base };
            try
            {
                for (int i = 0; i < 4 && queue.TryPop(_chain); i++)
                {
                    queue.AddUsed(_chain.HeadIndex, 0);
                }
            }
            catch (VirtqueueException)
            {
                // The front end's ring contents are its own business; a real server would stop this ring.
            }
            _running[ring.Index] = (queue, ring.Base);
            Starts++;
        }

        public ushort StopRing(int index)
        {
            if (!_running.Remove(index, out (SplitQueue Queue, ushort Base) ring))
            {
                throw new FuzzInvariantException($"ring {index} stopped but never started");
            }
            return ring.Queue.NextAvailableIndex;
        }

        public void MemoryChanging()
        {
            if (_running.Count != 0)
            {
                throw new FuzzInvariantException($"memory changes under running rings {string.Join(',', _running.Keys)}");
            }
        }

        public void CheckAllStopped()
        {
            if (_running.Count != 0)
            {
                throw new FuzzInvariantException($"rings {string.Join(',', _running.Keys)} still running after the session was disposed");
            }
        }
    }
}
