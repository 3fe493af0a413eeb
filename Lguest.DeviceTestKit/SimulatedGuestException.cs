namespace Lguest.DeviceTestKit;

/// <summary>
/// Something the simulated kernel found wrong (a bad zero page, a device that never answered): where Linux would
/// panic. <see cref="SimulatedLinux.Boot"/> turns it into <see cref="ISimulatedHypervisor.Panic"/> with this message;
/// a test driving a driver on its own sees the exception.
/// </summary>
public sealed class SimulatedGuestException : Exception
{
    public SimulatedGuestException(string message)
        : base(message)
    {
    }

    public SimulatedGuestException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
