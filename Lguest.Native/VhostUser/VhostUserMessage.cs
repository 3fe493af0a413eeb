using Lguest.Native.Interop;

namespace Lguest.Native.VhostUser;

/// <summary>
/// One decoded, validated message and the descriptors that came with it. The message owns the descriptors until
/// someone <see cref="TakeFd">takes</see> one; <see cref="Dispose"/> closes whatever nobody took, so a handler that
/// keeps only what it needs cannot leak the rest.
/// </summary>
public sealed class VhostUserMessage : IDisposable
{
    private readonly FileDescriptor?[] _fds;

    internal VhostUserMessage(VhostUserRequest request, uint flags, VhostUserPayload payload, IReadOnlyList<FileDescriptor> fds)
    {
        Request = request;
        Flags = flags;
        Payload = payload;
        _fds = [.. fds];
    }

    public VhostUserRequest Request { get; }

    public uint Flags { get; }

    public VhostUserPayload Payload { get; }

    public bool NeedsReply => (Flags & VhostUserHeader.NeedReplyFlag) != 0;

    public int FdCount => _fds.Length;

    /// <summary>Takes ownership of descriptor <paramref name="index"/>: the message will no longer close it.</summary>
    public FileDescriptor TakeFd(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _fds.Length);
        FileDescriptor fd = _fds[index] ?? throw new InvalidOperationException($"{Request} descriptor {index} was already taken");
        _fds[index] = null;
        return fd;
    }

    /// <summary>Descriptor <paramref name="index"/>, still owned by the message (it is closed with it).</summary>
    public FileDescriptor PeekFd(int index)
        => _fds[index] ?? throw new InvalidOperationException($"{Request} descriptor {index} was already taken");

    /// <summary>The payload as <typeparamref name="T"/>; the codec guarantees the type for each request.</summary>
    public T PayloadAs<T>()
        where T : VhostUserPayload
        => Payload as T ?? throw new InvalidOperationException($"{Request} carries {Payload.GetType().Name}, not {typeof(T).Name}");

    public void Dispose()
    {
        for (int i = 0; i < _fds.Length; i++)
        {
            _fds[i]?.Dispose();
            _fds[i] = null;
        }
    }
}
