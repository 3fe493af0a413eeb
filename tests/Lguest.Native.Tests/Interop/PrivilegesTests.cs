using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

/// <summary>
/// Only what leaves the test process as it was: dropping privileges or a successful chroot cannot be undone,
/// so those paths are exercised by the launcher's end-to-end runs, not here.
/// </summary>
public sealed class PrivilegesTests
{
    [Fact]
    public void Root_is_uid_and_gid_0()
    {
        UserAccount? root = Privileges.FindUser("root");

        Assert.Equal(new UserAccount("root", 0, 0), root);
    }

    [Fact]
    public void Unknown_user_is_null() => Assert.Null(Privileges.FindUser("no-such-user-lguest"));

    [Fact]
    public void Failed_chroot_names_the_directory_and_errno()
    {
        var e = Assert.Throws<SystemCallException>(() => Privileges.ChangeRoot("/no/such/lguest-root"));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.StartsWith("chroot(\"/no/such/lguest-root\"): ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_user_fails_before_any_chroot()
    {
        // The lookup comes first, as in the seed: with an unknown user the chroot must not even be attempted,
        // which the missing directory would otherwise report.
        var e = Assert.Throws<SystemCallException>(() => Privileges.Apply("/no/such/lguest-root", "no-such-user-lguest"));

        Assert.Contains("no-such-user-lguest", e.Message, StringComparison.Ordinal);
    }
}
