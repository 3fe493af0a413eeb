namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>What <see cref="GuestInitramfs.Ensure(InitramfsRequest)"/> builds an initramfs for.</summary>
/// <param name="Kernel">The bzImage the guest boots: its modules under /lib/modules/RELEASE go into the initramfs.</param>
/// <param name="CacheDirectory">Where built initramfs files are kept (created if missing).</param>
/// <param name="Busybox">A static busybox to use; null looks in /bin, /usr/bin and PATH.</param>
public sealed record InitramfsRequest(string Kernel, string CacheDirectory, string? Busybox = null);
