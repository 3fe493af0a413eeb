using System.Text;
using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>A user as the password database knows it: enough to become that user.</summary>
internal sealed record UserAccount(string Name, uint Uid, uint Gid);

/// <summary>
/// The seed's last steps before running the guest: confine the launcher to a directory and give up root.
/// Everything that needs privilege (opening /dev/lguest, tap devices, disk images) must already be done.
/// </summary>
internal static class Privileges
{
    private const int ERANGE = 34;

    /// <summary>
    /// The seed's order: the user is looked up first (outside the chroot, where /etc/passwd is the host's), then
    /// chroot, then the groups, gid and uid are dropped. Null arguments skip that step.
    /// </summary>
    public static void Apply(string? chrootDirectory, string? userName)
    {
        UserAccount? account = null;
        if (userName is not null)
        {
            account = FindUser(userName) ?? throw new SystemCallException($"look up user \"{userName}\"", Errno.ENOENT);
        }
        if (chrootDirectory is not null)
        {
            ChangeRoot(chrootDirectory);
        }
        if (account is not null)
        {
            DropTo(account);
        }
    }

    /// <summary>getpwnam: the account named <paramref name="userName"/>, or null when there is none.</summary>
    public static unsafe UserAccount? FindUser(string userName)
    {
        // getpwnam_r rather than the seed's getpwnam: the result must not live in a static buffer another thread
        // can overwrite. The buffer grows until the entry fits.
        for (int size = 1024; ; size *= 2)
        {
            byte[] buffer = new byte[size];
            Passwd entry;
            Passwd* result;
            int error;
            fixed (byte* b = buffer)
            {
                error = UserDatabase.getpwnam_r(userName, &entry, b, (nuint)size, &result);
                if (error == 0)
                {
                    return result is null
                        ? null
                        : new UserAccount(System.Runtime.InteropServices.Marshal.PtrToStringUTF8(entry.Name) ?? userName, entry.Uid, entry.Gid);
                }
            }
            if (error != ERANGE || size >= 1 << 20)
            {
                // getpwnam_r reports its failure as the return value, not in errno.
                throw new SystemCallException($"look up user \"{userName}\"", error);
            }
        }
    }

    /// <summary>chroot(<paramref name="directory"/>) then chdir("/"), so no path can reach outside it.</summary>
    public static unsafe void ChangeRoot(string directory)
    {
        fixed (byte* path = NullTerminated(directory))
        {
            SystemCall.ThrowIfFailed(Linux.chroot(path), $"chroot(\"{directory}\")");
        }
        fixed (byte* root = NullTerminated("/"))
        {
            SystemCall.ThrowIfFailed(Linux.chdir(root), $"chdir(\"/\") inside chroot \"{directory}\"");
        }
    }

    /// <summary>
    /// initgroups, setresgid, setresuid, in that order: once the uid is gone we could no longer change groups.
    /// Setting real, effective and saved ids leaves no way back to root.
    /// </summary>
    public static void DropTo(UserAccount account)
    {
        SystemCall.ThrowIfFailed(UserDatabase.initgroups(account.Name, account.Gid), $"initgroups for user \"{account.Name}\"");
        SystemCall.ThrowIfFailed(Linux.setresgid(account.Gid, account.Gid, account.Gid), $"setresgid({account.Gid}) for user \"{account.Name}\"");
        SystemCall.ThrowIfFailed(Linux.setresuid(account.Uid, account.Uid, account.Uid), $"setresuid({account.Uid}) for user \"{account.Name}\"");
    }

    private static byte[] NullTerminated(string text) => Encoding.UTF8.GetBytes(text + "\0");
}
