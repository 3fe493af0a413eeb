using Lguest.Actors.Configuration;

namespace Lguest.Actors.Engines;

/// <summary>
/// The seam for engines that are not part of the runtime. The simulated guest and the model of /dev/lguest are
/// Lguest.DeviceTestKit's (driver models for testing devices), so serving a real guest never loads them; a host that offers
/// them passes this factory, which returns null for an engine it does not provide.
/// </summary>
public delegate IGuestEngine? PluggedEngineFactory(LauncherSettings settings);
