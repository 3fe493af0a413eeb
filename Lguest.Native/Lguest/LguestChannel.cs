using System.Runtime.InteropServices;
using System.Text;
using Lguest.Native.Interop;

namespace Lguest.Native.Lguest;

/// <summary>
/// Our conversation with the host's lguest module through /dev/lguest: writes configure the guest and poke it,
/// and a read runs it until it wants something from us. One channel is one guest. Every call goes through an
/// <see cref="ILguestSyscalls"/>, so the same code runs against the real device and against a model of the kernel.
/// </summary>
public sealed class LguestChannel : IDisposable
{
    /// <summary>We are CPU 0; the host never supported another. The file offset is the CPU number.</summary>
    private const long Cpu = 0;

    private readonly ILguestSyscalls _syscalls;
    private readonly SafeHandle _handle;

    /// <summary>Over any descriptor with the host's calls, so tests can feed Run from a file and read requests out of a pipe.</summary>
    internal LguestChannel(FileDescriptor descriptor, string path)
        : this(HostLguestSyscalls.Instance, descriptor, path)
    {
    }

    private LguestChannel(ILguestSyscalls syscalls, SafeHandle handle, string path)
    {
        _syscalls = syscalls;
        _handle = handle;
        Path = path;
    }

    public string Path { get; }

    /// <summary>
    /// Opens the device. Its absence is the normal case on any modern machine, so it gets its own exception that
    /// tells the user what lguest needs and what to run instead.
    /// </summary>
    public static LguestChannel Open(string path = "/dev/lguest", ILguestSyscalls? syscalls = null)
    {
        syscalls ??= HostLguestSyscalls.Instance;
        int fd = syscalls.Open(path);
        if (fd < 0)
        {
            var failure = SystemCall.Failure(-fd, $"open {path}");
            throw -fd is Errno.ENOENT or Errno.ENODEV or Errno.ENXIO ? new LguestUnavailableException(path, failure) : failure;
        }
        return new LguestChannel(syscalls, new ChannelHandle(syscalls, fd), path);
    }

    /// <summary>
    /// This is where the guest comes to be: the host learns where its memory is in our address space, how many
    /// pages it may touch (RAM plus the device pages in use) and where to start it. The host binds the guest to the
    /// calling thread: only that thread may <see cref="Run"/> it (any other gets EPERM).
    /// </summary>
    public void Initialize(nuint guestBase, nuint pageLimit, nuint entry)
        => Send(LguestRequest.Initialize(guestBase, pageLimit, entry), "initialize guest");

    /// <summary>Raises interrupt line <paramref name="irq"/> (below 32) in the guest; any thread may.</summary>
    public void Interrupt(uint irq) => Send(LguestRequest.Interrupt(irq), $"send irq {irq}");

    /// <summary>
    /// Lets the host signal <paramref name="eventFd"/> directly when the guest notifies <paramref name="notifyAddress"/>,
    /// so a queue's kick wakes its service thread without a trip through <see cref="Run"/>. The host's table only
    /// grows and its first match wins: attaching another eventfd to the same address later changes nothing.
    /// </summary>
    public void AttachEventFd(ulong notifyAddress, EventFd eventFd)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        using FileDescriptor.Lease fd = eventFd.Descriptor.Borrow();
        Send(LguestRequest.AttachEventFd(notifyAddress, fd.Number), $"attach eventfd to notify address 0x{notifyAddress:x}");
    }

    /// <summary>The calling thread, as the host knows it: the run loop records itself so a stop can signal it.</summary>
    public LguestTask CurrentTask() => _syscalls.CurrentTask();

    /// <summary>Signals <paramref name="task"/>: if it is inside <see cref="Run"/>, Run returns <see cref="LguestRunOutcome.Interrupted"/>.</summary>
    public void Signal(LguestTask task) => _syscalls.SignalTask(task);

    /// <summary>
    /// Runs the guest until it needs us. A full word is a NOTIFY address; ENOENT means it died and a second read
    /// says why; ERESTART means it wants a reboot; EINTR means a signal came first. Anything else is a bug or an
    /// incompatible host. The descriptor is leased for the whole run, so a Dispose from another thread takes
    /// effect once it returns.
    /// </summary>
    public LguestRunOutcome Run()
    {
        Span<byte> word = stackalloc byte[nuint.Size];
        word.Clear();
        long r;
        bool leased = false;
        try
        {
            r = _syscalls.PRead(Lease(ref leased), word, Cpu);
        }
        finally
        {
            Release(leased);
        }
        if (r == -Errno.EINTR)
        {
            return new LguestRunOutcome.Interrupted();
        }
        return Interpret(r < 0 ? -1 : r, r < 0 ? (int)-r : 0, MemoryMarshal.Read<nuint>(word), ReadDeathReason, Path);
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>What a run read's result means; pure apart from <paramref name="deathReason"/>, which is only asked on ENOENT.</summary>
    internal static LguestRunOutcome Interpret(long result, int errno, nuint word, Func<string> deathReason, string path)
    {
        if (result == nuint.Size)
        {
            return new LguestRunOutcome.Notify(word);
        }
        if (result >= 0)
        {
            throw new IOException($"run guest on {path}: read {result} bytes, expected a {nuint.Size}-byte notify address");
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
        byte[] buffer = new byte[LguestAbi.DeathReasonLength];
        long r;
        do
        {
            bool leased = false;
            try
            {
                r = _syscalls.PRead(Lease(ref leased), buffer, Cpu);
            }
            finally
            {
                Release(leased);
            }
        }
        while (r == -Errno.EINTR);
        if (r < 0)
        {
            // We are already reporting a death; a failure to learn its cause should not hide the death itself.
            return $"the guest died and reading why failed: {Errno.Describe((int)-r)}";
        }
        return DecodeReason(buffer.AsSpan(0, (int)r));
    }

    private void Send(nuint[] words, string operation)
    {
        byte[] bytes = MemoryMarshal.AsBytes(words.AsSpan()).ToArray();
        long r;
        do
        {
            bool leased = false;
            try
            {
                r = _syscalls.Write(Lease(ref leased), bytes);
            }
            finally
            {
                Release(leased);
            }
        }
        while (r == -Errno.EINTR);
        if (r < 0)
        {
            SystemCall.Throw((int)-r, $"{operation} ({Path})");
        }
    }

    /// <summary>Holds the descriptor open for one call (throws once disposed), and gives its number.</summary>
    private int Lease(ref bool leased)
    {
        _handle.DangerousAddRef(ref leased);
        return (int)_handle.DangerousGetHandle();
    }

    private void Release(bool leased)
    {
        if (leased)
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>The descriptor <see cref="Open"/> got, closed through the same syscalls once no call holds it.</summary>
    private sealed class ChannelHandle : SafeHandle
    {
        private readonly ILguestSyscalls _syscalls;

        public ChannelHandle(ILguestSyscalls syscalls, int fd)
            : base(-1, ownsHandle: true)
        {
            _syscalls = syscalls;
            SetHandle(fd);
        }

        public override bool IsInvalid => handle < 0;

        protected override bool ReleaseHandle() => _syscalls.Close((int)handle) == 0;
    }
}
