using Akka.Actor;
using Lguest.Native.Interop;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// The thread that waits in accept(2) on a device's listening socket and Tells the back-end actor about each front end.
/// Stopping shuts the listening socket down, which makes the blocked accept return at once. Whatever ends the thread
/// early, it ends by Telling the back end, so supervision decides and no exception escapes it.
/// </summary>
internal sealed class SocketListener : IDisposable
{
    private readonly FileDescriptor _listener;
    private readonly IActorRef _backend;
    private readonly Thread _thread;
    private volatile bool _stopping;

    /// <param name="listener">Already listening on <paramref name="path"/> (bound before the actor system, or by the back end); owned from now on.</param>
    public SocketListener(string path, FileDescriptor listener, IActorRef backend)
    {
        Path = path;
        _listener = listener;
        _backend = backend;
        _thread = new Thread(Accept) { IsBackground = true, Name = $"vhost-user accept {System.IO.Path.GetFileName(path)}" };
        _thread.Start();
    }

    public string Path { get; }

    public void Dispose()
    {
        _stopping = true;
        UnixSocket.Shutdown(_listener);
        _thread.Join();
        _listener.Dispose();
        File.Delete(Path);
    }

    private void Accept()
    {
        while (!_stopping)
        {
            FileDescriptor connection;
            try
            {
                connection = UnixSocket.Accept(_listener);
            }
            catch (Exception e)
            {
                if (!_stopping)
                {
                    _backend.Tell(new VhostUserProtocolMessages.ListenerFailed(e));
                }
                return;
            }
            if (_stopping)
            {
                connection.Dispose();
                return;
            }
            _backend.Tell(new VhostUserProtocolMessages.Accepted(connection));
        }
    }
}
