using Akka.Event;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Block;
using Lguest.Actors.Devices.Console;
using Lguest.Actors.Devices.Net;
using Lguest.Actors.Devices.Rng;
using Lguest.Native.Interop;

namespace Lguest.Actors.Devices;

/// <summary>Turns one configured device into its model, opening its host resources now, before the guest starts.</summary>
public static class DeviceFactory
{
    public static VirtioDevice Create(DeviceSettings settings, FileDescriptor consoleInput, FileDescriptor consoleOutput, ILoggingAdapter log)
        => Create(settings, consoleInput, consoleOutput, log, hooks: null);

    /// <summary>As above, with host seams replaced by <paramref name="hooks"/>: for tests only, never reachable from configuration.</summary>
    internal static VirtioDevice Create(
        DeviceSettings settings, FileDescriptor consoleInput, FileDescriptor consoleOutput, ILoggingAdapter log, DeviceTestHooks? hooks)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings switch
        {
            ConsoleSettings => new ConsoleDevice(consoleInput, consoleOutput, log),
            BlockSettings block => new BlockDevice(block, log, hooks?.BlockFlush),
            RngSettings rng => new RngDevice(rng),
            NetSettings net when hooks?.NetFrames is { } frames => new NetDevice(frames(net), $"frames over a test stand-in for a tap ({net.Address ?? net.Bridge})", Mac(net)),
            NetSettings net => new NetDevice(net),
            _ => throw new ArgumentException($"no device for {settings.GetType().Name}", nameof(settings)),
        };
    }

    private static byte[]? Mac(NetSettings net) => string.IsNullOrEmpty(net.Mac)
        ? null
        : NetProtocol.ParseMac(net.Mac) ?? throw new ConfigurationException("net.mac", $"'{net.Mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)");
}

/// <summary>
/// The host seams a test may replace when it builds devices through <see cref="DeviceFactory"/>: failures no real
/// disk produces on demand, and a network without the privileges a tap needs.
/// </summary>
/// <param name="BlockFlush">Replaces fdatasync for every block device (throw a SystemCallException to fail a flush).</param>
/// <param name="NetFrames">Gives a net device its frame descriptor (e.g. one end of a datagram socket pair) instead of a tap.</param>
internal sealed record DeviceTestHooks(Action<FileDescriptor>? BlockFlush = null, Func<NetSettings, FileDescriptor>? NetFrames = null);
