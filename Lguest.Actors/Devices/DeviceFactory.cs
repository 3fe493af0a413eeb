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
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings switch
        {
            ConsoleSettings => new ConsoleDevice(consoleInput, consoleOutput, log),
            BlockSettings block => new BlockDevice(block, log),
            RngSettings rng => new RngDevice(rng),
            NetSettings net => new NetDevice(net),
            _ => throw new ArgumentException($"no device for {settings.GetType().Name}", nameof(settings)),
        };
    }
}
