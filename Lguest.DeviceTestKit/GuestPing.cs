using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;

namespace Lguest.DeviceTestKit;

/// <summary>
/// Just enough IPv4 for the simulated guest to prove its network reaches a real host stack: it asks who has the
/// host's address (ARP), then pings it (ICMP echo) and waits for the kernel's replies. Frames are built and checked
/// byte by byte, checksums included, since the other end is Linux and will silently drop anything malformed.
/// </summary>
public sealed class GuestPing
{
    /// <summary>The guest's MAC when the device offers none: locally administered ("lg"), so it is never a vendor's.</summary>
    public static readonly byte[] DefaultMac = [0x02, 0x6c, 0x67, 0x00, 0x00, 0x02];

    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeArp = 0x0806;
    private const ushort EchoIdentifier = 0x6c67;
    private const int EthernetHeader = 14;
    private const int MinimumFrame = 60;

    private readonly NetDriver _nic;
    private readonly byte[] _mac;
    private readonly byte[] _address;
    private readonly byte[] _host;

    public GuestPing(NetDriver nic, IPAddress host)
    {
        ArgumentNullException.ThrowIfNull(nic);
        ArgumentNullException.ThrowIfNull(host);
        _nic = nic;
        _mac = nic.Mac ?? DefaultMac;
        _host = host.GetAddressBytes();
        Address = new IPAddress(GuestAddressFor(_host));
        _address = Address.GetAddressBytes();
    }

    /// <summary>The guest's own address: the host's with the last octet one higher (one lower for .254 and .255).</summary>
    public IPAddress Address { get; }

    /// <summary>ARP for the host; its MAC, or null when no reply came within <paramref name="timeout"/>.</summary>
    public byte[]? ResolveHost(TimeSpan timeout)
    {
        byte[] request = new byte[MinimumFrame];
        request.AsSpan(0, 6).Fill(0xff);
        _mac.CopyTo(request, 6);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(12), EtherTypeArp);
        Span<byte> arp = request.AsSpan(EthernetHeader);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1); // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], EtherTypeIpv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1); // request
        _mac.CopyTo(arp[8..]);
        _address.CopyTo(arp[14..]);
        _host.CopyTo(arp[24..]); // target hardware address stays zero
        _nic.Send(request);

        byte[]? reply = Await(timeout, frame =>
            frame.Length >= EthernetHeader + 28
            && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == EtherTypeArp
            && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(EthernetHeader + 6)) == 2
            && frame.AsSpan(EthernetHeader + 14, 4).SequenceEqual(_host)
            && frame.AsSpan(EthernetHeader + 24, 4).SequenceEqual(_address));
        return reply?[(EthernetHeader + 8)..(EthernetHeader + 14)];
    }

    /// <summary>One ICMP echo to the host at <paramref name="hostMac"/>; true when its reply came back intact.</summary>
    public bool Echo(byte[] hostMac, ushort sequence, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(hostMac);
        byte[] payload = System.Text.Encoding.ASCII.GetBytes("lguest-sim ping payload 0123456");
        byte[] frame = new byte[EthernetHeader + 20 + 8 + payload.Length];
        hostMac.CopyTo(frame, 0);
        _mac.CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypeIpv4);
        Span<byte> ip = frame.AsSpan(EthernetHeader, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(frame.Length - EthernetHeader));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // don't fragment
        ip[8] = 64;
        ip[9] = 1; // ICMP
        _address.CopyTo(ip[12..]);
        _host.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip));
        Span<byte> icmp = frame.AsSpan(EthernetHeader + 20);
        icmp[0] = 8; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], EchoIdentifier);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        _nic.Send(frame);

        return Await(timeout, reply => IsEchoReply(reply, sequence, payload)) is not null;
    }

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/>, its checksum field zero.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (data.Length % 2 != 0)
        {
            sum += (uint)data[^1] << 8;
        }
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    private static byte[] GuestAddressFor(byte[] host)
    {
        byte[] guest = (byte[])host.Clone();
        guest[3] = (byte)(host[3] >= 254 ? host[3] - 1 : host[3] + 1);
        return guest;
    }

    private bool IsEchoReply(byte[] frame, ushort sequence, byte[] payload)
    {
        if (frame.Length < EthernetHeader + 28 || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) != EtherTypeIpv4)
        {
            return false;
        }
        ReadOnlySpan<byte> ip = frame.AsSpan(EthernetHeader);
        int headerLength = (ip[0] & 0x0f) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (ip[9] != 1 || !ip.Slice(12, 4).SequenceEqual(_host) || !ip.Slice(16, 4).SequenceEqual(_address)
            || total > ip.Length || total < headerLength + 8 + payload.Length)
        {
            return false;
        }
        ReadOnlySpan<byte> icmp = ip[headerLength..total];
        return icmp[0] == 0
            && BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) == EchoIdentifier
            && BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]) == sequence
            && icmp[8..].SequenceEqual(payload)
            && Checksum(icmp) == 0; // a correct checksum sums, with itself, to zero
    }

    /// <summary>Receives until a frame matches (others, such as IPv6 neighbour discovery, are skipped) or time runs out.</summary>
    private byte[]? Await(TimeSpan timeout, Func<byte[], bool> wanted)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            byte[]? frame = _nic.TryReceive(timeout - clock.Elapsed);
            if (frame is not null && wanted(frame))
            {
                return frame;
            }
        }
        return null;
    }
}
