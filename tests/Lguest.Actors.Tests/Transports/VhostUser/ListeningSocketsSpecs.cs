using Akka.TestKit.Xunit2;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Tests.Support;
using Lguest.Actors.Transports.VhostUser;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using Xunit.Abstractions;

namespace Lguest.Actors.Tests.Transports.VhostUser;

/// <summary>
/// Sockets bound before the actor system: what a front end sends before any actor exists waits in the socket and is
/// answered once the back end runs, and a socket no back end took is closed and removed.
/// </summary>
public sealed class ListeningSocketsSpecs : TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-listening-").FullName;

    public ListeningSocketsSpecs(ITestOutputHelper output)
        : base(TestConfig.Akka, output: output)
    {
    }

    [Fact]
    public async Task A_request_sent_before_the_back_end_exists_is_answered_once_it_runs()
    {
        string socket = Path.Combine(_directory, "rng.sock");
        LauncherSettings settings = Settings(new RngSettings("/dev/urandom", 4096) { Socket = socket });
        using ListeningSockets listening = ListeningSockets.Open(settings);
        Assert.True(File.Exists(socket));

        // Connected and asked before any actor of the launcher exists: both wait in the listening socket.
        using var frontEnd = new VhostUserFrontEnd(UnixSocket.Connect(socket));
        Task<ulong> features = Task.Run(frontEnd.GetFeatures);

        using var shutdown = new CancellationTokenSource();
        Task<LauncherExit> exit = GuestLauncher.RunAsync(Sys, settings, Environment(), shutdown.Token, listening);

        Assert.Equal(VhostUserFeatures.Version1, await features.WaitAsync(Patience) & VhostUserFeatures.Version1);
        shutdown.Cancel();
        Assert.Equal(LauncherExit.PoweredOff, (await exit.WaitAsync(Patience)).ExitCode);
        Assert.False(File.Exists(socket));
    }

    [Fact]
    public void A_socket_no_back_end_took_is_closed_and_removed()
    {
        string socket = Path.Combine(_directory, "blk.sock");
        ListeningSockets listening = ListeningSockets.Open(Settings(new RngSettings("/dev/urandom", 4096) { Socket = socket }));

        listening.Dispose();

        Assert.False(File.Exists(socket));
        Assert.ThrowsAny<IOException>(() => UnixSocket.Connect(socket).Dispose());
    }

    [Fact]
    public void A_path_that_is_not_a_socket_names_the_device_key_and_leaves_nothing_bound()
    {
        string first = Path.Combine(_directory, "first.sock");
        string notSocket = Path.Combine(_directory, "data");
        File.WriteAllText(notSocket, "data");
        LauncherSettings settings = Settings(
            new RngSettings("/dev/urandom", 4096) { Socket = first }, new RngSettings("/dev/urandom", 4096) { Socket = notSocket });

        var error = Assert.Throws<ConfigurationException>(() => ListeningSockets.Open(settings));

        Assert.Equal("lguest.devices[1].socket", error.Key);
        Assert.Equal($"cannot listen on {notSocket}: it exists and is not a socket", error.Problem);
        Assert.False(File.Exists(first));
        Assert.Equal("data", File.ReadAllText(notSocket));
    }

    private static LauncherSettings Settings(params DeviceSettings[] devices)
    {
        using var source = new TestGuest();
        return source.Settings with { Engine = EngineKind.VhostUser, Kernel = string.Empty, Devices = devices };
    }

    private GuestEnvironment Environment()
    {
        var console = new FileDescriptor(0, ownsHandle: false);
        return new GuestEnvironment(
            _ => throw new InvalidOperationException("vhost-user runs no engine"),
            d => DeviceFactory.Create(d, console, console, Sys.Log),
            console,
            console);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
