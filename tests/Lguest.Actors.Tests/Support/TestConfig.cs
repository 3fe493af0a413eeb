using Akka.Configuration;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Support;

internal static class TestConfig
{
    /// <summary>The runtime's own reference configuration (its dispatchers), quiet logging.</summary>
    public static Config Akka { get; } = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
        .WithFallback(LauncherSettingsReader.Reference);
}
