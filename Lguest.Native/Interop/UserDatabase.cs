using System.Runtime.InteropServices;

namespace Lguest.Native.Interop;

/// <summary>struct passwd as glibc lays it out; only the fields we read are given names that matter.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Passwd
{
    public nint Name;
    public nint Password;
    public uint Uid;
    public uint Gid;
    public nint Gecos;
    public nint Directory;
    public nint Shell;
}

/// <summary>The user-database and group calls Tmds.LibC does not bind (getpwnam_r, initgroups).</summary>
internal static unsafe partial class UserDatabase
{
    private const string Library = "libc";

    /// <summary>Returns 0 or an errno (not through errno); <paramref name="result"/> is null when there is no such user.</summary>
    [LibraryImport(Library, EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int getpwnam_r(string name, Passwd* entry, byte* buffer, nuint bufferLength, Passwd** result);

    [LibraryImport(Library, EntryPoint = "initgroups", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int initgroups(string user, uint group);
}
