using System.Text;
using Lguest.Native.Interop;

namespace Lguest.Native.Lguest;

/// <summary>
/// Our conversation with the host's lguest module through /dev/lguest: writes configure the guest and poke it,
/// and a read runs it until it wants something from us. One channel is one guest.
/// </summary>
public sealed unsafe class LguestChannel : IDisposable
{
    /// <summary>We are CPU 0; the host never supported another.</summary>
    private const long Cpu = 0;

    private readonly FileDescriptor _descriptor;

    /// <summary>Over any descriptor, so tests can feed Run from a file and read requests out of a pipe.</summary>
    internal LguestChannel(FileDescriptor descriptor, string path)
    {
        _descriptor = descriptor;
        Path = path;
    }

    public string Path { get; }

    /// <summary>
    /// Opens the device. Its absence is the normal case on any modern machine, so it gets its own exception that
    /// tells the user what lguest needs and what to run instead.
    /// </summary>
    public static LguestChannel Open(string path = "/dev/lguest")
    {
        try
        {
            return new LguestChannel(FileDescriptor.Open(path, LibC.O_RDWR), path);
        }
        catch (SystemCallException e) when (e.Errno is Errno.ENOENT or Errno.ENODEV or Errno.ENXIO)
        {
            throw new LguestUnavailableException(path, e);
        }
    }

    /// <summary>
    /// This is where the guest comes to be: the host learns where its memory is in our address space, how many
    /// pages it may touch (RAM plus the device pages in use) and where to start it.
    /// </summary>
    public void Initialize(nuint guestBase, nuint pageLimit, nuint entry)
        => Send(LguestRequest.Initialize(guestBase, pageLimit, entry), "initialize guest");

    /// <summary>Raises interrupt line <paramref name="irq"/> (below 32) in the guest.</summary>
    public void Interrupt(uint irq) => Send(LguestRequest.Interrupt(irq), $"send irq {irq}");

    /// <summary>
    /// Lets the host signal <paramref name="eventFd"/> directly when the guest notifies <paramref name="notifyAddress"/>,
    /// so a queue's kick wakes its service thread without a trip through <see cref="Run"/>.
    /// </summary>
    public void AttachEventFd(ulong notifyAddress, EventFd eventFd)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        using FileDescriptor.Lease fd = eventFd.Descriptor.Borrow();
        Send(LguestRequest.AttachEventFd(notifyAddress, fd.Number), $"attach eventfd to notify address 0x{notifyAddress:x}");
    }

    /// <summary>
    /// Break on stops the guest and blocks the caller until another thread writes break off. This is how a
    /// waker forced a guest back to the launcher before eventfds existed.
    /// </summary>
    public void Break(bool on = true) => Send(LguestRequest.Break(on), on ? "break guest out" : "release break");

    /// <summary>
    /// Runs the guest until it needs us. A full word is a NOTIFY address; ENOENT means it died and a second read
    /// says why; ERESTART means it wants a reboot. Anything else is a bug or an incompatible host.
    /// The descriptor is leased for the whole run, so a Dispose from another thread takes effect once it returns.
    /// </summary>
    public LguestRunOutcome Run()
    {
        using FileDescriptor.Lease fd = _descriptor.Borrow();
        nuint word = 0;
        nint r;
        do
        {
            r = LibC.pread(fd.Number, &word, (nuint)sizeof(nuint), Cpu);
        }
        while (SystemCall.Interrupted(r));
        return Interpret(r, SystemCall.ErrnoOf(r), word, ReadDeathReason, Path);
    }

    public void Dispose() => _descriptor.Dispose();

    /// <summary>What a run read's result means; pure apart from <paramref name="deathReason"/>, which is only asked on ENOENT.</summary>
    internal static LguestRunOutcome Interpret(long result, int errno, nuint word, Func<string> deathReason, string path)
    {
        if (result == sizeof(nuint))
        {
            return new LguestRunOutcome.Notify(word);
        }
        if (result >= 0)
        {
            throw new IOException($"run guest on {path}: read {result} bytes, expected a {sizeof(nuint)}-byte notify address");
        }
        return errno switch
        {
            Errno.ENOENT => new LguestRunOutcome.Died(deathReason()),
            Errno.ERESTART => new LguestRunOutcome.Restart(),
            _ => throw SystemCall.Failure(errno, $"run guest on {path}"),
        };
    }

    /// <summary>The host's reason for a death, NUL-terminated within its buffer.</summary>
    internal static string DecodeReason(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    private string ReadDeathReason()
    {
        byte* buffer = stackalloc byte[LguestAbi.DeathReasonLength];
        using FileDescriptor.Lease fd = _descriptor.Borrow();
        nint r;
        do
        {
            r = LibC.pread(fd.Number, buffer, LguestAbi.DeathReasonLength, Cpu);
        }
        while (SystemCall.Interrupted(r));
        int errno = SystemCall.ErrnoOf(r);
        if (errno != 0)
        {
            // We are already reporting a death; a failure to learn its cause should not hide the death itself.
            return $"the guest died and reading why failed: {Errno.Describe(errno)}";
        }
        return DecodeReason(new ReadOnlySpan<byte>(buffer, (int)r));
    }

    private void Send(nuint[] words, string operation)
    {
        using FileDescriptor.Lease fd = _descriptor.Borrow();
        fixed (nuint* p = words)
        {
            nint r;
            do
            {
                r = LibC.write(fd.Number, p, (nuint)(words.Length * sizeof(nuint)));
            }
            while (SystemCall.Interrupted(r));
            SystemCall.ThrowIfFailed(r, $"{operation} ({Path})");
        }
    }
}
