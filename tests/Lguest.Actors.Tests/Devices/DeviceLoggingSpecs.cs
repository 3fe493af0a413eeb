using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Devices.Console;
using Lguest.Actors.Tests.Support;
using Lguest.Native.Interop;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Devices;

/// <summary>What a served device logs names the device actor serving it as its source, so a line says which device it is about.</summary>
public sealed class DeviceLoggingSpecs : TestKit
{
    private static readonly SupervisionSettings KillLauncher = new(GuestErrorPolicy.KillLauncher, 3, TimeSpan.FromMinutes(1));

    public DeviceLoggingSpecs(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(TestConfig.Akka), output: output)
    {
    }

    [Fact]
    public void A_served_console_logs_the_end_of_stdin_as_its_device_actor()
    {
        (FileDescriptor stdinRead, FileDescriptor stdinWrite) = Pipe.Create();
        (FileDescriptor stdoutRead, FileDescriptor stdoutWrite) = Pipe.Create();
        using (stdinWrite)
        using (stdoutRead)
        using (stdoutWrite)
        {
            // Made with the system's logger, as the launcher makes devices before any actor serves them.
            var console = new ConsoleDevice(stdinRead, stdoutWrite, Sys.Log, () => { }, () => 0);
            IActorRef actor = Sys.ActorOf(DeviceActor.Props(console, KillLauncher), "1-console");
            actor.Tell(new DeviceProtocol.Reset());
            ExpectMsg<DeviceProtocol.WasReset>(); // the actor has started, and taken the device's logging over

            EventFilter.Info(source: actor.Path.ToString(), start: "console: stdin closed").ExpectOne(() => console.Input.End("stdin closed"));

            Sys.Stop(actor);
        }
    }
}
