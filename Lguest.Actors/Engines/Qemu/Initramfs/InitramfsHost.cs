namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// Where the builder finds the host's tools and modules. The defaults are the real host; tests point these at
/// a fake module tree or a missing modprobe to reach the errors a user would meet.
/// </summary>
/// <param name="ModulesRoot">The directory that holds lib/modules/RELEASE ("/" on a real host; modprobe -d).</param>
/// <param name="Modprobe">The modprobe to run; null searches PATH, /sbin and /usr/sbin.</param>
internal sealed record InitramfsHost(string ModulesRoot, string? Modprobe)
{
    public static InitramfsHost Default { get; } = new("/", null);

    /// <summary>The modules the guest's devices need, each with whatever it depends on loaded first.</summary>
    public static IReadOnlyList<string> GuestModules { get; } =
        ["virtio_pci", "virtio_blk", "virtio_net", "virtio_console", "virtio_rng", "pvpanic_pci"];

    public string ModulesDirectory(string release) => Path.Combine(ModulesRoot, "lib", "modules", release);
}
