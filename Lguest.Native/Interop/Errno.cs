using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>The errno values the project reacts to by name, and their descriptions.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    /// <summary>lguest's "the guest asked for a reboot" (Linux's ERESTART, 85).</summary>
    public const int ERESTART = 85;
    public const int ENOTSOCK = 88;
    public const int EMSGSIZE = 90;
    public const int EOPNOTSUPP = 95;
    public const int ECONNRESET = 104;
    public const int ENOTCONN = 107;

    /// <summary>strerror, never throwing.</summary>
    public static string Describe(int errno)
    {
        string? text = Marshal.GetPInvokeErrorMessage(errno);
        return string.IsNullOrEmpty(text) ? $"errno {errno}" : $"{text} (errno {errno})";
    }
}
