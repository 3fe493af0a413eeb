using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Native.Interop;

namespace Lguest.Actors.Engines;

/// <summary>
/// What a guest is given from outside the configuration: how to make its engine and devices, where its console
/// reads and writes (the terminal, or pipes in tests), and what to do once setup is over (the seed's chroot and
/// privilege drop, done after every file is open and before the guest runs).
/// </summary>
public sealed record GuestEnvironment(
    Func<LauncherSettings, IGuestEngine> CreateEngine,
    Func<DeviceSettings, VirtioDevice> CreateDevice,
    FileDescriptor ConsoleInput,
    FileDescriptor ConsoleOutput,
    Action? AfterFirstSetup = null);
