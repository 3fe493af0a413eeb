using Akka.Configuration;
using Akka.Dispatch;

namespace Lguest.Actors.Dispatch;

/// <summary>
/// Loaded by Akka from a dispatcher's <c>type</c> in HOCON (see reference.conf). Like PinnedDispatcher's, it makes a
/// new dispatcher, and so a new thread, for every actor that asks for it.
/// </summary>
internal sealed class EventFdDispatcherConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : MessageDispatcherConfigurator(config, prerequisites)
{
    public override MessageDispatcher Dispatcher()
        => new EventFdDispatcher(
            this,
            Config.GetString("id", "eventfd-dispatcher"),
            Config.GetInt("throughput", MessageDispatcher.DefaultThroughput),
            Config.GetTimeSpan("shutdown-timeout", TimeSpan.FromSeconds(1)));
}
