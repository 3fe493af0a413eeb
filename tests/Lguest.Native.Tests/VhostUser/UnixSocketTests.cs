using Lguest.Native.Interop;
using Lguest.Native.VhostUser;
using static Lguest.Native.Tests.VhostUser.VhostUserTestSupport;

namespace Lguest.Native.Tests.VhostUser;

public sealed class UnixSocketTests
{
    /// <summary>Waits (bounded) until nothing sent to <paramref name="socket"/> is left unread: its reader took it.</summary>
    private static async Task ConsumedAsync(FileDescriptor socket)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Pipe.Available(socket) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the reader never took the piece off the socket");
            await Task.Delay(1);
        }
    }

    private static string TempSocketPath() => Path.Combine(Path.GetTempPath(), $"lguest-vhu-{Guid.NewGuid():N}.sock");

    [Fact]
    public void Listen_accept_and_connect_carry_bytes_and_descriptors_both_ways()
    {
        string path = TempSocketPath();
        try
        {
            using FileDescriptor listener = UnixSocket.Listen(path);
            using FileDescriptor client = UnixSocket.Connect(path);
            using FileDescriptor server = UnixSocket.Accept(listener);

            using EventFd kick = EventFd.Create();
            UnixSocket.Send(client, [1, 2, 3], [kick.Descriptor]);
            var fds = new List<FileDescriptor>();
            var buffer = new byte[8];
            Assert.Equal(3, UnixSocket.Receive(server, buffer, fds, 4, out bool truncated));
            Assert.False(truncated);
            FileDescriptor received = Assert.Single(fds);
            Assert.NotEqual(kick.Descriptor.Number, received.Number);
            Assert.Equal(1, Tmds.Linux.LibC.fcntl(received.Number, LibC.F_GETFD, 0) & 1);

            // The received copy is the same eventfd: signalling it wakes the original.
            using (EventFd copy = EventFd.Adopt(received))
            {
                copy.Signal(5);
            }
            Assert.Equal(5UL, kick.Drain());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Listen_replaces_a_stale_socket_file_but_never_another_kind_of_file()
    {
        string path = TempSocketPath();
        try
        {
            UnixSocket.Listen(path).Dispose(); // leaves the socket file behind, as a crashed back end would
            Assert.True(File.Exists(path));
            using (FileDescriptor again = UnixSocket.Listen(path))
            using (FileDescriptor client = UnixSocket.Connect(path))
            {
            }
            File.Delete(path);
            File.WriteAllText(path, "precious");
            var refused = Assert.Throws<IOException>(() => UnixSocket.Listen(path));
            Assert.Contains("not a socket", refused.Message, StringComparison.Ordinal);
            Assert.Equal("precious", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Connecting_to_nothing_names_the_path()
    {
        string path = TempSocketPath();
        var failure = Assert.Throws<SystemCallException>(() => UnixSocket.Connect(path));
        Assert.Equal(Errno.ENOENT, failure.Errno);
        Assert.Contains(path, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_that_arrives_in_pieces_is_assembled_with_the_descriptors_of_its_first_byte()
    {
        string marker = NewMarker();
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using (front)
        using (var channel = new VhostUserChannel(back))
        {
            byte[] bytes = VhostUserCodec.EncodeRequest(VhostUserRequest.SetVringKick, new VhostUserVringFile(1, NoFd: false));
            using (FileDescriptor memfd = MarkedMemFd(marker))
            {
                UnixSocket.Send(front, bytes.AsSpan(0, 5), [memfd]);
            }
            Task<VhostUserMessage?> reading = Task.Run(channel.ReceiveRequest);
            // Each piece is sent once the reader has taken the one before it off the socket, so it reads them apart.
            await ConsumedAsync(back);
            UnixSocket.Send(front, bytes.AsSpan(5, 5));
            await ConsumedAsync(back);
            UnixSocket.Send(front, bytes.AsSpan(10));
            using VhostUserMessage? message = await reading.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(message);
            Assert.Equal(new VhostUserVringFile(1, NoFd: false), message.Payload);
            Assert.Equal(1, message.FdCount);
            Assert.Equal(1, OpenCopies(marker));
        }
        Assert.Equal(0, OpenCopies(marker));
    }

    [Fact]
    public void A_closed_connection_between_messages_reads_as_null()
    {
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using var channel = new VhostUserChannel(back);
        front.Dispose();
        Assert.Null(channel.ReceiveRequest());
    }
}
