using System.Text;
using System.Text.Json;
using Akka.Actor;
using Lguest.Native.Interop;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The QEMU engine's run loop: QMP, the QEMU Machine Protocol, one JSON object per line. QEMU connects to our socket
/// (we listen first, so nobody else can), greets us, and we negotiate capabilities and let the paused guest run.
/// From then on the thread only reads: each event is Told to the guest actor, in order, and the end of the stream
/// (QEMU gone) comes last, so the actor always knows why QEMU stopped before it acts on the exit.
/// </summary>
internal sealed class QmpChannel : IDisposable
{
    private const int MaxLineBytes = 1 << 20;

    private readonly FileDescriptor _listener;
    private readonly EventFd _stop = EventFd.Create();
    private readonly IActorRef _owner;
    private readonly Thread _thread;
    private readonly Lock _sendGate = new();
    private FileDescriptor? _connection;
    private volatile bool _stopping;
    private volatile bool _connected;

    public QmpChannel(string path, IActorRef owner)
    {
        _listener = UnixSocket.Listen(path);
        _owner = owner;
        _thread = new Thread(Run) { IsBackground = true, Name = "qmp reader" };
        _thread.Start();
    }

    /// <summary>
    /// Whether QEMU ever connected. A QEMU that dies before it does never closes the monitor either, so its exit
    /// alone tells the whole story (and QMP sends no event before capabilities are negotiated).
    /// </summary>
    public bool Connected => _connected;

    /// <summary>Asks QEMU to quit (it exits as if powered off; the reaper reports the exit). Harmless once it is gone.</summary>
    public void Quit() => TrySend("""{"execute":"quit"}""");

    public void Dispose()
    {
        _stopping = true;
        _stop.Signal();
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
        _connection?.Dispose();
        _listener.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        string closed = "QEMU closed the monitor";
        try
        {
            FileDescriptor? connection = SocketAcceptor.AcceptOrStop(_listener, _stop);
            if (connection is null)
            {
                return;
            }
            lock (_sendGate)
            {
                _connection = connection;
            }
            _connected = true;
            Converse(connection);
        }
        catch (Exception e) when (e is SystemCallException or JsonException or InvalidDataException)
        {
            closed = $"QMP failed: {e.Message}";
        }
        if (!_stopping)
        {
            _owner.Tell(new QemuMessages.QmpClosed(closed));
        }
    }

    /// <summary>Greeting, qmp_capabilities, cont; then events until QEMU closes the connection.</summary>
    private void Converse(FileDescriptor connection)
    {
        var reader = new LineReader(connection, _stop);
        string version = "?";
        int answers = 0;
        while (reader.ReadLine() is { } line)
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("QMP", out JsonElement greeting))
            {
                version = Version(greeting);
                TrySend("""{"execute":"qmp_capabilities"}""");
            }
            else if (root.TryGetProperty("return", out _))
            {
                // The first answer is to qmp_capabilities: let the guest run. The second is to cont.
                if (++answers == 1)
                {
                    TrySend("""{"execute":"cont"}""");
                }
                else if (answers == 2)
                {
                    _owner.Tell(new QemuMessages.QmpReady(version));
                }
            }
            else if (root.TryGetProperty("error", out JsonElement error))
            {
                throw new InvalidDataException($"QEMU refused a command: {error}");
            }
            else if (root.TryGetProperty("event", out JsonElement name))
            {
                string? reason = root.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Object
                    && data.TryGetProperty("reason", out JsonElement r) ? r.GetString() : null;
                _owner.Tell(new QemuMessages.QmpEvent(name.GetString() ?? "", reason));
            }
        }
    }

    private static string Version(JsonElement greeting)
    {
        if (greeting.TryGetProperty("version", out JsonElement v) && v.TryGetProperty("qemu", out JsonElement q))
        {
            return $"{q.GetProperty("major").GetInt32()}.{q.GetProperty("minor").GetInt32()}.{q.GetProperty("micro").GetInt32()}";
        }
        return "?";
    }

    private void TrySend(string command)
    {
        lock (_sendGate)
        {
            if (_connection is null)
            {
                return;
            }
            try
            {
                UnixSocket.Send(_connection, Encoding.UTF8.GetBytes(command + "\n"));
            }
            catch (SystemCallException)
            {
                // QEMU has gone: the reader sees the end of the stream and reports it.
            }
        }
    }

    /// <summary>Lines from a socket, stoppable; null at the end of the stream or on stop.</summary>
    private sealed class LineReader(FileDescriptor socket, EventFd stop)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly List<byte> _line = [];
        private int _start;
        private int _end;

        public string? ReadLine()
        {
            while (true)
            {
                int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline >= 0)
                {
                    _line.AddRange(_buffer.AsSpan(_start, newline - _start));
                    _start = newline + 1;
                    string text = Encoding.UTF8.GetString([.. _line]).Trim();
                    _line.Clear();
                    if (text.Length > 0)
                    {
                        return text;
                    }
                    continue;
                }
                _line.AddRange(_buffer.AsSpan(_start, _end - _start));
                if (_line.Count > MaxLineBytes)
                {
                    throw new InvalidDataException($"a QMP line longer than {MaxLineBytes} bytes");
                }
                _start = _end = 0;
                if (!SocketAcceptor.WaitReadableOrStop(socket, stop))
                {
                    return null;
                }
                int read = FileIo.Read(socket, _buffer);
                if (read == 0)
                {
                    return null;
                }
                _end = read;
            }
        }
    }
}
