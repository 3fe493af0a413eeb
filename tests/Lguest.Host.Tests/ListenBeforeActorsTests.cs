using System.Diagnostics;
using System.Text;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Host.Tests;

/// <summary>
/// The launcher binds its vhost-user sockets before the actor system exists (as socket activation would): a front end
/// that connects the moment a socket appears waits in the backlog and is served once the actors run, and a socket
/// path that cannot be bound is a usage error found before anything starts.
/// </summary>
public sealed class ListenBeforeActorsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-listen-").FullName;

    private string Config(string socket)
    {
        string disk = Path.Combine(_directory, "disk.img");
        using (FileStream image = File.Create(disk))
        {
            image.SetLength(1 << 20);
        }
        string config = Path.Combine(_directory, "backend.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = vhost-user
              devices = [ { type = block, path = "{{disk}}", socket = "{{socket}}" } ]
            }
            """);
        return config;
    }

    [Fact]
    public async Task A_front_end_that_connects_as_soon_as_the_socket_exists_gets_its_features_answered()
    {
        string socket = Path.Combine(_directory, "blk.sock");
        using Process process = HostProcess.Start([], "--config", Config(socket));
        var stderr = new StringBuilder();
        Task reading = Task.WhenAll(Drain(process.StandardOutput, new StringBuilder()), Drain(process.StandardError, stderr));
        try
        {
            // No sleep between seeing the socket and connecting: that is the script that starts QEMU right after us.
            var waiting = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                Assert.False(process.HasExited, $"the launcher exited before listening:\n{stderr}");
                Assert.True(waiting.Elapsed < TimeSpan.FromSeconds(60), "the launcher did not start listening");
                Thread.Yield();
            }
            using var frontEnd = new VhostUserFrontEnd(UnixSocket.Connect(socket));

            // Generous bound: the actor system may still be starting, and the machine may be loaded.
            ulong features = await Task.Run(frontEnd.GetFeatures).WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(VhostUserFeatures.Version1, features & VhostUserFeatures.Version1);
            Assert.Equal(VhostUserFeatures.ProtocolFeatures, features & VhostUserFeatures.ProtocolFeatures);
            Assert.NotEqual(0UL, await Task.Run(frontEnd.GetProtocolFeatures).WaitAsync(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            if (!process.HasExited)
            {
                RealGuest.HostTools.Stop(process, TimeSpan.FromSeconds(15));
            }
            await reading.WaitAsync(TimeSpan.FromSeconds(15));
        }
        Assert.Equal(0, process.ExitCode);
        Assert.False(File.Exists(socket), "the socket outlived the launcher");
    }

    [Fact]
    public async Task A_socket_path_that_cannot_be_bound_exits_2_with_one_line_naming_it_before_anything_starts()
    {
        string notSocket = Path.Combine(_directory, "data.txt");
        File.WriteAllText(notSocket, "someone's data");
        string config = Config(notSocket);

        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            [$"lguest: lguest.devices[0].socket: cannot listen on {notSocket}: it exists and is not a socket ({config}:3)"],
            result.StderrLines);
        Assert.Equal("someone's data", File.ReadAllText(notSocket));
        Assert.Empty(Directory.GetFiles(_directory, ".*.binding"));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task Drain(StreamReader reader, StringBuilder into)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            lock (into)
            {
                into.AppendLine(line);
            }
        }
    }
}
