using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>The constants that inspect and bound what a vhost-user front end hands us (its fds, its socket).</summary>
internal static unsafe partial class LibC
{
    public const int SO_RCVTIMEO = 20;
    public const int SO_SNDTIMEO = 21;

    public const int F_ADD_SEALS = 1033;
    public const int F_GET_SEALS = 1034;
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int F_SEAL_WRITE = 0x8;
    public const int F_SEAL_FUTURE_WRITE = 0x10;
    public const uint MFD_ALLOW_SEALING = 2;
    public const int O_ACCMODE = 3;
    public const uint S_IFREG = 0x8000;
}

/// <summary>struct timeval, as SO_SNDTIMEO takes it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeValue
{
    public long Seconds;
    public long Microseconds;
}
