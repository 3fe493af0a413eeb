using Lguest.Actors.Configuration;
using Lguest.Native.Interop;

namespace Lguest.Actors.Transports.VhostUser;

/// <summary>
/// Every vhost-user socket of a launcher, bound and listening before the actor system exists, as systemd's socket
/// activation does. Creating the actor system takes most of start-up; a front end (QEMU, or a script that starts the
/// launcher and then QEMU) that connects meanwhile waits in the backlog and is served once the back-end actors run,
/// instead of finding no socket. A path that cannot be bound is a configuration error found before anything starts.
/// </summary>
public sealed class ListeningSockets : IDisposable
{
    private readonly Dictionary<string, FileDescriptor> _bound;

    private ListeningSockets(Dictionary<string, FileDescriptor> bound) => _bound = bound;

    /// <summary>Nothing bound in advance: each back-end actor binds its own socket (tests, embedding, other engines).</summary>
    public static ListeningSockets None => new([]);

    /// <summary>Binds and listens on every device's socket when <paramref name="settings"/> name the vhost-user engine.</summary>
    /// <exception cref="ConfigurationException">A socket that cannot be bound, naming its key; none stays bound.</exception>
    public static ListeningSockets Open(LauncherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var bound = new Dictionary<string, FileDescriptor>(StringComparer.Ordinal);
        var sockets = new ListeningSockets(bound);
        if (settings.Engine != EngineKind.VhostUser)
        {
            return sockets;
        }
        for (int i = 0; i < settings.Devices.Count; i++)
        {
            if (settings.Devices[i].Socket is not { } path)
            {
                continue;
            }
            try
            {
                bound.Add(path, UnixSocket.Listen(path));
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                sockets.Dispose();
                throw new ConfigurationException($"lguest.devices[{i}].socket", Describe(path, e));
            }
        }
        return sockets;
    }

    /// <summary>
    /// The listening socket bound for <paramref name="path"/>, handed over once: the caller owns it from now on. Null
    /// when none was bound in advance or it was already taken (a back end started again binds afresh).
    /// </summary>
    internal FileDescriptor? Take(string path)
    {
        lock (_bound)
        {
            return _bound.Remove(path, out FileDescriptor? socket) ? socket : null;
        }
    }

    /// <summary>Closes and removes the sockets no back end took (a device that could not be created, a failed start).</summary>
    public void Dispose()
    {
        lock (_bound)
        {
            foreach ((string path, FileDescriptor socket) in _bound)
            {
                socket.Dispose();
                File.Delete(path);
            }
            _bound.Clear();
        }
    }

    private static string Describe(string path, Exception e) =>
        e.Message.Contains(path, StringComparison.Ordinal) ? e.Message : $"cannot listen on {path}: {e.Message}";
}
