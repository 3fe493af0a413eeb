using System.Globalization;
using System.Text;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// A device as QEMU sees it: a vhost-user front end on <paramref name="Socket"/>, where one of our back ends listens,
/// or, when <paramref name="External"/>, someone else's (a switch port), which the launcher neither starts nor waits for.
/// </summary>
internal sealed record QemuDevice(DeviceSettings Settings, string Socket, bool External = false);

/// <summary>Where QEMU connects for the console, the serial port and QMP (we listen on all three first).</summary>
internal sealed record QemuSockets(string Console, string Serial, string Monitor);

/// <summary>
/// QEMU's argument list for one boot. QEMU gets nothing of its own (-nodefaults): the CPU, memory and PCI bus only.
/// Every device is vhost-user (ours, or a net device's external back end), and the console, serial port and monitor
/// are sockets we listen on.
/// </summary>
internal static class QemuCommandLine
{
    /// <param name="interactive">stdin is a terminal: the guest's /init starts an interactive shell (lguest.interactive=1).</param>
    public static IReadOnlyList<string> Build(
        LauncherSettings settings, QemuAcceleratorChoice accelerator, QemuSockets sockets, IReadOnlyList<QemuDevice> devices, bool interactive)
    {
        string megabytes = (settings.MemoryBytes >> 20).ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "-nodefaults", "-no-user-config", "-display", "none",
            "-accel", accelerator.Kvm ? "kvm" : "tcg",
            "-m", megabytes,
            // Shared, memfd-backed RAM is what lets our vhost-user back ends map the guest's rings.
            "-object", $"memory-backend-memfd,id=mem,size={megabytes}M,share=on",
            "-M", "pc,memory-backend=mem",
            // A reset ends this QEMU (we start a fresh one, with fresh devices); a panic pauses it for us to see.
            "-action", "reboot=shutdown,shutdown=poweroff,panic=pause",
            "-device", "pvpanic-pci",
            // Paused until QMP is negotiated, so no event can happen before we listen for it.
            "-S",
            "-chardev", $"socket,id=qmp,path={Escape(sockets.Monitor)}",
            "-mon", "chardev=qmp,mode=control",
            "-chardev", $"socket,id=serial,path={Escape(sockets.Serial)}",
            "-serial", "chardev:serial",
            "-device", "virtio-serial-pci",
            "-chardev", $"socket,id=con,path={Escape(sockets.Console)}",
            "-device", "virtconsole,chardev=con",
            "-kernel", settings.Kernel,
            "-append", KernelCommandLine(settings, interactive),
        };
        if (!string.IsNullOrEmpty(settings.Initrd))
        {
            args.AddRange(["-initrd", settings.Initrd]);
        }

        int number = 0;
        foreach (QemuDevice device in devices)
        {
            string chardev = $"dev{number}";
            args.AddRange(["-chardev", $"socket,id={chardev},path={Escape(device.Socket)}"]);
            switch (device.Settings)
            {
                case BlockSettings:
                    // One queue, whatever -smp says: our back end serves one, and QEMU refuses a back end with fewer
                    // queues than the device asks for.
                    args.AddRange(["-device", $"vhost-user-blk-pci,chardev={chardev},num-queues=1"]);
                    break;
                case RngSettings:
                    // No reconnect= here: QEMU 7.2's vhost-user-rng aborts at start with it.
                    args.AddRange(["-device", $"vhost-user-rng-pci,chardev={chardev}"]);
                    break;
                case NetSettings net:
                    string netdev = $"net{number}";
                    var nic = new StringBuilder($"virtio-net-pci,netdev={netdev},romfile=");
                    if (QemuGuestNetwork.Mac(net, device.External ? device.Socket : null) is { } mac)
                    {
                        nic.Append(",mac=").Append(mac);
                    }
                    if (!accelerator.Kvm)
                    {
                        // Under TCG, QEMU 7.2 segfaults setting up MSI-X notifiers for a vhost-user net device.
                        nic.Append(",vectors=0");
                    }
                    args.AddRange(["-netdev", $"vhost-user,id={netdev},chardev={chardev}", "-device", nic.ToString()]);
                    break;
                default:
                    throw new ConfigurationException("lguest.devices", $"the qemu engine cannot attach a {device.Settings.GetType().Name}");
            }
            number++;
        }
        return args;
    }

    /// <summary>
    /// ttyS0 first, for the kernel's messages before virtio_console exists; hvc0 last, so it becomes /dev/console.
    /// Then what the guest's /init reads, then the user's own words, which may override any of ours.
    /// </summary>
    public static string KernelCommandLine(LauncherSettings settings, bool interactive)
    {
        var line = new StringBuilder("console=ttyS0 console=hvc0");
        line.Append(" lguest.interactive=").Append(interactive ? '1' : '0');
        if (settings.Devices.OfType<NetSettings>().FirstOrDefault() is { } net && QemuGuestNetwork.GuestAddress(net) is { } address)
        {
            line.Append(" lguest.ip=").Append(address);
        }
        if (!string.IsNullOrWhiteSpace(settings.CommandLine))
        {
            line.Append(' ').Append(settings.CommandLine.Trim());
        }
        return line.ToString();
    }

    /// <summary>The whole command as a shell would show it, for the log.</summary>
    public static string Describe(string binary, IReadOnlyList<string> args) =>
        string.Join(' ', new[] { binary }.Concat(args).Select(Quote));

    /// <summary>QEMU's option parser splits on commas; a literal comma is written twice.</summary>
    private static string Escape(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./,=:+@%".Contains(c, StringComparison.Ordinal))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
