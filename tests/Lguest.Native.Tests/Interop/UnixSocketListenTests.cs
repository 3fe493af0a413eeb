using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

/// <summary>
/// A front end may connect the moment the socket file appears (QEMU started by a script that waits for the path), so
/// the file must not exist before the socket listens, and nothing of the binding may be left beside it.
/// </summary>
public sealed class UnixSocketListenTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-listen-").FullName;

    [Fact]
    public void The_socket_listens_at_its_path_and_no_binding_name_is_left_beside_it()
    {
        string path = Path.Combine(_directory, "blk.sock");

        using FileDescriptor listener = UnixSocket.Listen(path);

        Assert.Equal([path], Directory.GetFileSystemEntries(_directory));
        using FileDescriptor client = UnixSocket.Connect(path);
        using FileDescriptor served = UnixSocket.Accept(listener);
        Assert.False(served.IsInvalid);
    }

    [Fact]
    public void A_path_too_long_for_a_private_binding_name_still_listens()
    {
        // sun_path holds 107 bytes; leave room for the path but not for the longer binding name beside it.
        string name = new('s', 104 - _directory.Length);
        string path = Path.Combine(_directory, name);

        using FileDescriptor listener = UnixSocket.Listen(path);

        Assert.Equal([path], Directory.GetFileSystemEntries(_directory));
        using FileDescriptor client = UnixSocket.Connect(path);
    }

    [Fact]
    public void A_regular_file_at_the_path_is_refused_and_nothing_is_left_behind()
    {
        string path = Path.Combine(_directory, "disk.img");
        File.WriteAllText(path, "data");

        IOException error = Assert.Throws<IOException>(() => UnixSocket.Listen(path));

        Assert.Contains("not a socket", error.Message, StringComparison.Ordinal);
        Assert.Equal("data", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_directory));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
