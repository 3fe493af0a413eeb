using System.Text;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// Who owns a path, for cleaning up what a killed launcher left in a shared directory such as /tmp: only what is
/// ours (by effective uid) may be removed, and a symbolic link is never followed to something else.
/// </summary>
public static unsafe class FileOwner
{
    /// <summary>The uid the process acts as (files it creates belong to it).</summary>
    public static uint EffectiveUser => Linux.geteuid();

    /// <summary>lstat: the owner of <paramref name="path"/> itself, and whether it is a real directory; null when it does not exist.</summary>
    public static (uint Owner, bool IsDirectory)? Of(string path)
    {
        Tmds.Linux.stat status;
        fixed (byte* name = Encoding.UTF8.GetBytes(path + "\0"))
        {
            if (Linux.lstat(name, &status) != 0)
            {
                return null;
            }
        }
        const uint TypeMask = 0xF000; // S_IFMT
        const uint Directory = 0x4000; // S_IFDIR
        return ((uint)status.st_uid, ((uint)status.st_mode & TypeMask) == Directory);
    }
}
