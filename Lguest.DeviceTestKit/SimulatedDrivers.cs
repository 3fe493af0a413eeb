namespace Lguest.DeviceTestKit;

/// <summary>The drivers bound at boot, in bus order within each kind (the first disk is vda, the first nic eth0).</summary>
public sealed class SimulatedDrivers
{
    public List<ConsoleDriver> Consoles { get; } = [];

    public List<BlockDriver> Disks { get; } = [];

    public List<RngDriver> Rngs { get; } = [];

    public List<NetDriver> Nics { get; } = [];
}
