using Akka.Actor;
using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// The thread that reads a front end's messages and Tells the connection actor each one; a malformed message or a
/// closed socket is reported once and ends the thread. Stopping shuts the socket down, which ends a blocked read.
///
/// It reads at most <see cref="Credits"/> messages ahead of the actor: a front end that floods requests (and does not
/// read the replies, so the actor is stuck sending) fills its own socket buffer, not our memory.
/// Whatever ends the thread, it ends by Telling the actor, so supervision decides and no exception escapes it.
/// </summary>
internal sealed class MessageReader : IDisposable
{
    /// <summary>Messages read but not yet handled; QEMU sends a few without waiting, never many.</summary>
    public const int Credits = 4;

    private readonly VhostUserChannel _channel;
    private readonly IActorRef _connection;
    private readonly Thread _thread;
    private readonly SemaphoreSlim _credits = new(Credits, int.MaxValue);
    private volatile bool _stopping;

    public MessageReader(VhostUserChannel channel, IActorRef connection)
    {
        _channel = channel;
        _connection = connection;
        _thread = new Thread(Read) { IsBackground = true, Name = "vhost-user read" };
        _thread.Start();
    }

    /// <summary>The actor has handled one message: the reader may read one more.</summary>
    public void Handled() => _credits.Release();

    public void Dispose()
    {
        _stopping = true;
        UnixSocket.Shutdown(_channel.Socket);
        _credits.Release();
        _thread.Join();
        _credits.Dispose();
    }

    private void Read()
    {
        object outcome;
        try
        {
            outcome = ReadUntilEnd();
        }
        catch (VhostUserProtocolException e)
        {
            outcome = new VhostUserProtocolMessages.Disconnected($"the front end broke the protocol: {e.Message}", GuestError: true);
        }
        catch (SystemCallException e)
        {
            outcome = new VhostUserProtocolMessages.Disconnected($"reading from the front end failed: {e.Message}");
        }
        catch (Exception e)
        {
            outcome = new VhostUserProtocolMessages.ReaderFailed(e);
        }
        if (!_stopping)
        {
            _connection.Tell(outcome);
        }
    }

    private object ReadUntilEnd()
    {
        while (true)
        {
            _credits.Wait();
            if (_stopping)
            {
                return new VhostUserProtocolMessages.Disconnected("stopping");
            }
            VhostUserMessage? message = _channel.ReceiveRequest();
            if (message is null)
            {
                return new VhostUserProtocolMessages.Disconnected("the front end closed the connection");
            }
            _connection.Tell(message);
        }
    }
}
