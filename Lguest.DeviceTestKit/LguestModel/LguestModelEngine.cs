using Lguest.Actors.Engines;
using Lguest.Actors.Engines.DevLguest;
using Lguest.Native.Lguest;

namespace Lguest.DeviceTestKit.LguestModel;

/// <summary>
/// The real <see cref="LguestEngine"/> and <see cref="LguestChannel"/> opened on a <see cref="DevLguestModel"/>
/// instead of the host's /dev/lguest: every request the launcher writes, every read that runs the guest and every
/// signal that stops it goes through the same code as on a real lguest host, and the model answers by the kernel's
/// rules. The model lives as long as the engine.
/// </summary>
public static class LguestModelEngine
{
    public static IGuestEngine Create(string devicePath, Action<ISimulatedHypervisor> guest, int eventFdLimit = EventFdTable.DefaultLimit)
    {
        var model = new DevLguestModel(guest, eventFdLimit);
        return new OwningEngine(new LguestEngine(LguestChannel.Open(devicePath, model)), model);
    }

    /// <summary>Disposes the model (closing whatever the channel left open) after the engine.</summary>
    private sealed class OwningEngine(LguestEngine engine, DevLguestModel model) : IGuestEngine
    {
        public string Name => "lguest (model of /dev/lguest)";

        public DevLguestModel Model => model;

        public void Initialize(Native.Memory.GuestMemory memory, ulong guestLimit, ulong entryPoint) => engine.Initialize(memory, guestLimit, entryPoint);

        public void AttachEventFd(ulong notifyAddress, Native.Interop.EventFd kick) => engine.AttachEventFd(notifyAddress, kick);

        public void Interrupt(uint irq) => engine.Interrupt(irq);

        public EngineOutcome Run() => engine.Run();

        public void Stop() => engine.Stop();

        public void Dispose()
        {
            engine.Dispose();
            model.Dispose();
        }
    }
}
