using System.Net;
using System.Net.Sockets;
using Lguest.Actors.Configuration;
using Lguest.Actors.Supervision;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices.Net;

/// <summary>
/// The host end of a guest's network: a tap device, routed (the host side gets an IPv4 address) or bridged (it
/// joins an existing bridge). Either way packets the guest sends appear on the host as if from a network card.
/// Every failure here happens before the guest starts and says what to do about it.
/// </summary>
internal sealed class TapInterface
{
    private TapInterface(FileDescriptor descriptor, string name, string description)
    {
        Descriptor = descriptor;
        Name = name;
        Description = description;
    }

    /// <summary>The tap, non-blocking: one read is one frame, one write injects one.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>The name the kernel gave ("tap0").</summary>
    public string Name { get; }

    /// <summary>"tun tap0: 10.0.0.1/24" or "tun tap0 attached to bridge: br0", as the seed printed (and the prefix).</summary>
    public string Description { get; }

    public static TapInterface Open(NetSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        bool routed = !string.IsNullOrEmpty(settings.Address);
        bool bridged = !string.IsNullOrEmpty(settings.Bridge);
        if (routed == bridged)
        {
            throw new ConfigurationException("net", "exactly one of address and bridge must be set");
        }
        IPAddress? address = null;
        if (routed && (!IPAddress.TryParse(settings.Address, out address) || address.AddressFamily != AddressFamily.InterNetwork))
        {
            throw new ConfigurationException("net.address", $"'{settings.Address}' is not an IPv4 address");
        }
        if (bridged && NetworkInterfaces.IndexOf(settings.Bridge!) == 0)
        {
            throw new HostDeviceException($"net: bridge {settings.Bridge} does not exist");
        }

        FileDescriptor tap = Create(settings.TapName, out string name);
        try
        {
            Tap.SetOffload(tap, LibC.TUN_F_CSUM | LibC.TUN_F_TSO4 | LibC.TUN_F_TSO6 | LibC.TUN_F_TSO_ECN);
            Tap.TrustChecksums(tap);
            if (bridged)
            {
                NetworkInterfaces.AddToBridge(settings.Bridge!, name);
            }
            else
            {
                NetworkInterfaces.SetAddress(name, address!, settings.PrefixLength);
            }
            NetworkInterfaces.BringUp(name);
        }
        catch (SystemCallException e)
        {
            tap.Dispose();
            throw Explain(e);
        }
        string description = bridged ? $"tun {name} attached to bridge: {settings.Bridge}" : $"tun {name}: {address}/{settings.PrefixLength}";
        return new TapInterface(tap, name, description);
    }

    private static FileDescriptor Create(string pattern, out string name)
    {
        try
        {
            return Tap.Open(pattern, out name);
        }
        catch (SystemCallException e) when (e.Errno is Errno.ENOENT or Errno.ENODEV)
        {
            throw new HostDeviceException($"net: {Tap.ControlDevice} is missing (load the tun module)", e);
        }
        catch (SystemCallException e)
        {
            throw Explain(e);
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException("net.tap", e.Message);
        }
    }

    private static HostDeviceException Explain(SystemCallException e) => e.Errno is Errno.EPERM or Errno.EACCES
        ? new HostDeviceException($"net: {e.Operation} needs CAP_NET_ADMIN (run as root)", e)
        : new HostDeviceException($"net: {e.Message}", e);
}
