using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>
/// What the devices need from libc beyond Tmds.LibC: the terminal, tap and interface constants and layouts, and
/// if_nametoindex. Raw like the rest of <see cref="LibC"/>: callers go through <see cref="SystemCall"/>.
/// </summary>
internal static unsafe partial class LibC
{
    // Tmds.LibC 0.5.0 has none of the if_* name and index calls.
    [LibraryImport(Library, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    public const int TCSANOW = 0;
    public const uint ISIG = 0x1;
    public const uint ICANON = 0x2;
    public const uint ECHO = 0x8;

    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;

    public const int SIGINT = 2;

    public const nuint TUNSETIFF = 0x400454CA;
    public const nuint TUNSETOFFLOAD = 0x400454D0;
    public const nuint TUNSETVNETHDRSZ = 0x400454D8;
    public const nuint TUNSETNOCSUM = 0x400454C8;
    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;
    public const uint TUN_F_CSUM = 1;
    public const uint TUN_F_TSO4 = 2;
    public const uint TUN_F_TSO6 = 4;
    public const uint TUN_F_TSO_ECN = 8;

    public const nuint SIOCGIFFLAGS = 0x8913;
    public const nuint SIOCSIFFLAGS = 0x8914;
    public const nuint SIOCSIFADDR = 0x8916;
    public const nuint SIOCBRADDIF = 0x89a2;
    public const short IFF_UP = 0x1;

    /// <summary>IFNAMSIZ: interface names are at most 15 bytes and a NUL.</summary>
    public const int IFNAMSIZ = 16;
}

/// <summary>struct termios as glibc lays it out on x86-64 (60 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TerminalAttributes
{
    public uint InputFlags;
    public uint OutputFlags;
    public uint ControlFlags;
    public uint LocalFlags;
    public byte LineDiscipline;
    public fixed byte ControlCharacters[32];
    public uint InputSpeed;
    public uint OutputSpeed;
}

/// <summary>struct ifreq: a 16-byte name and a 24-byte union, of which we use the address, flags and index.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct InterfaceRequest
{
    [FieldOffset(0)]
    public fixed byte Name[LibC.IFNAMSIZ];

    /// <summary>ifr_flags (short) for TUNSETIFF and SIOC[GS]IFFLAGS.</summary>
    [FieldOffset(16)]
    public short Flags;

    /// <summary>ifr_ifindex for SIOCBRADDIF.</summary>
    [FieldOffset(16)]
    public int Index;

    /// <summary>ifr_addr as a sockaddr_in: family, port (network order), address (network order).</summary>
    [FieldOffset(16)]
    public ushort AddressFamily;

    [FieldOffset(20)]
    public uint AddressBytes;

    public void SetName(string name)
    {
        int count = System.Text.Encoding.ASCII.GetByteCount(name);
        if (count >= LibC.IFNAMSIZ || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"interface name '{name}' must be shorter than {LibC.IFNAMSIZ} bytes", nameof(name));
        }
        fixed (byte* p = Name)
        {
            var span = new Span<byte>(p, LibC.IFNAMSIZ);
            span.Clear();
            System.Text.Encoding.ASCII.GetBytes(name, span);
        }
    }

    public string GetName()
    {
        fixed (byte* p = Name)
        {
            var span = new ReadOnlySpan<byte>(p, LibC.IFNAMSIZ);
            int end = span.IndexOf((byte)0);
            return System.Text.Encoding.ASCII.GetString(end < 0 ? span : span[..end]);
        }
    }
}
