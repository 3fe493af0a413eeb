using Akka.Actor;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Engines.VhostUser;

/// <summary>
/// The thread that reads a front end's messages and Tells the connection actor each one; a malformed message or a
/// closed socket is reported once and ends the thread. Stopping shuts the socket down, which ends a blocked read.
/// </summary>
internal sealed class MessageReader : IDisposable
{
    private readonly VhostUserChannel _channel;
    private readonly IActorRef _connection;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public MessageReader(VhostUserChannel channel, IActorRef connection)
    {
        _channel = channel;
        _connection = connection;
        _thread = new Thread(Read) { IsBackground = true, Name = "vhost-user read" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        UnixSocket.Shutdown(_channel.Socket);
        _thread.Join();
    }

    private void Read()
    {
        string reason;
        try
        {
            while (!_stopping)
            {
                VhostUserMessage? message = _channel.ReceiveRequest();
                if (message is null)
                {
                    reason = "the front end closed the connection";
                    _connection.Tell(new VhostUserProtocolMessages.Disconnected(reason));
                    return;
                }
                _connection.Tell(message);
            }
            return;
        }
        catch (VhostUserProtocolException e)
        {
            reason = $"the front end broke the protocol: {e.Message}";
        }
        catch (SystemCallException e)
        {
            reason = $"reading from the front end failed: {e.Message}";
        }
        if (!_stopping)
        {
            _connection.Tell(new VhostUserProtocolMessages.Disconnected(reason));
        }
    }
}
