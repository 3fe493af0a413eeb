using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// Why the launcher cannot build the guest's initramfs. These are set-up problems the user fixes on the host
/// (install a package, give an initrd), so they are configuration errors: exit 2 with one line.
/// </summary>
internal static class InitramfsErrors
{
    /// <summary>The key an initramfs problem is reported under: setting it is the way around every one of them.</summary>
    public const string Key = "lguest.initrd";

    public const string KernelKey = "lguest.kernel";

    public static ConfigurationException CannotBuild(string problem)
        => new(Key, $"empty, and the launcher cannot build the guest's initramfs: {problem}");

    public static ConfigurationException BadKernel(string problem) => new(KernelKey, problem);
}
