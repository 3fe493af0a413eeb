using Akka.Configuration;
using Lguest.Actors.Configuration;

namespace Lguest.Actors.Tests.Support;

internal static class TestConfig
{
    /// <summary>The runtime's own reference configuration (its pinned dispatchers), quiet logging.</summary>
    public static Config Akka { get; } = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
        .WithFallback(ConfigurationFactory.ParseString("akka.actor.lguest-queue-dispatcher.type = PinnedDispatcher\nakka.actor.lguest-run-loop-dispatcher.type = PinnedDispatcher"));
}
