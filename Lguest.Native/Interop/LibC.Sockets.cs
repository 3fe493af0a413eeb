using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>
/// Constants and layouts for AF_UNIX stream sockets with descriptor passing (vhost-user), and stat for the file
/// types and sizes those descriptors need checking against; the calls themselves are Tmds.LibC's.
/// </summary>
internal static unsafe partial class LibC
{
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;

    public const uint S_IFMT = 0xF000;
    public const uint S_IFSOCK = 0xC000;

    /// <summary>sizeof(struct cmsghdr) on x86-64: size_t cmsg_len, int cmsg_level, int cmsg_type.</summary>
    public const int CMSG_HDR = 16;

    /// <summary>CMSG_SPACE: a control message's header and data, padded to 8 bytes.</summary>
    public static int CMSG_SPACE(int dataLength) => CMSG_HDR + ((dataLength + 7) & ~7);

    /// <summary>CMSG_LEN: what cmsg_len says for <paramref name="dataLength"/> bytes of data.</summary>
    public static int CMSG_LEN(int dataLength) => CMSG_HDR + dataLength;
}

/// <summary>struct sockaddr_un: a family and a 108-byte path.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct UnixSocketAddress
{
    public const int PathCapacity = 108;

    public ushort Family;
    public fixed byte Path[PathCapacity];
}

/// <summary>struct msghdr as glibc lays it out on x86-64 (56 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct stat on x86-64 (144 bytes); only the mode and the size are read.</summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal struct FileStatusBuffer
{
    [FieldOffset(24)]
    public uint Mode;

    [FieldOffset(48)]
    public long Size;
}
