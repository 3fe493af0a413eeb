namespace Lguest.Actors.Queues;

/// <summary>
/// Where a queue starts serving and where it stopped. lguest always starts a fresh ring at index 0; a vhost-user
/// front end says where to start (SET_VRING_BASE) and asks where we stopped (GET_VRING_BASE), so a ring can move
/// between back ends or survive a reconnect without losing or repeating a request.
/// </summary>
public sealed class RingPosition
{
    private int _stoppedAt = -1;

    /// <param name="startAvailable">The first available-ring index to serve.</param>
    /// <param name="resumeUsed">
    /// Take the used index from the ring itself rather than assuming 0: a ring handed over mid-life already has
    /// completed entries, and the front end's used.idx is the truth.
    /// </param>
    public RingPosition(ushort startAvailable = 0, bool resumeUsed = false)
    {
        StartAvailable = startAvailable;
        ResumeUsed = resumeUsed;
    }

    public ushort StartAvailable { get; }

    public bool ResumeUsed { get; }

    /// <summary>The next available index the queue would have served, once its actor has stopped; null before.</summary>
    public ushort? StoppedAt
    {
        get
        {
            int value = Volatile.Read(ref _stoppedAt);
            return value < 0 ? null : (ushort)value;
        }
    }

    internal void Stop(ushort nextAvailable) => Volatile.Write(ref _stoppedAt, nextAvailable);
}
