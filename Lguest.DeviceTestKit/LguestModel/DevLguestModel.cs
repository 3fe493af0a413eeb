using System.Buffers.Binary;
using Lguest.Native.Interop;
using Lguest.Native.Lguest;
using Lguest.Native.Memory;

namespace Lguest.DeviceTestKit.LguestModel;

/// <summary>
/// The kernel side of /dev/lguest, modelled from the seed-era drivers/lguest/lguest_user.c (and run_guest() in
/// core.c), with a simulated guest as the CPU. It implements the launcher's <see cref="ILguestSyscalls"/>, so the
/// real <see cref="LguestChannel"/> and <see cref="LguestEngine"/> run against it unchanged. The rules it enforces:
/// <list type="bullet">
/// <item>write(): the first word is the request. Before LHREQ_INITIALIZE, anything else is EINVAL; once the guest
/// is dead, anything but INITIALIZE is ENOENT. INITIALIZE a second time is EBUSY. Only INITIALIZE, IRQ and
/// EVENTFD are accepted; GETDMA, BREAK and every other value are EINVAL. INITIALIZE answers 3 words' worth of
/// bytes (sizeof(args)), IRQ and EVENTFD answer 0.</item>
/// <item>LHREQ_IRQ: a line at or above 32 (LGUEST_IRQS) is EINVAL.</item>
/// <item>LHREQ_EVENTFD: address 0 is EINVAL; the table is append-only and first-match-wins, with a limit
/// (<see cref="EventFdTable"/>, ENOMEM); a descriptor that is not open is EBADF, one that is not an eventfd EINVAL.</item>
/// <item>read(): EINVAL before INITIALIZE or for a CPU (file offset) other than 0; EPERM from any task but the one
/// that INITIALIZEd; a dead guest's reason (up to the buffer, NUL included) once it has died, or ERESTART for a
/// reboot. Otherwise it runs the guest: ENOENT when it dies, ERESTART when it asks for a reboot, one word (the
/// notify address) for a NOTIFY no eventfd took, and EINTR when a signal is pending (the kernel's -ERESTARTSYS, which
/// the launcher's SA_RESTART-less handler turns into EINTR).</item>
/// </list>
/// Words are the launcher's native size: a 32-bit launcher on a 32-bit host wrote 4-byte words, and a 64-bit one can
/// only ever meet a 64-bit kernel, which lguest never had; the model is that kernel. A write shorter than the words
/// a request needs is EFAULT: the real kernel would read past the buffer, which the model cannot do.
/// </summary>
public sealed class DevLguestModel : ILguestSyscalls, IDisposable
{
    private const int FirstDescriptor = 1000;
    private static readonly int Word = nuint.Size;

    private readonly Action<ISimulatedHypervisor> _program;
    private readonly int _eventFdLimit;
    private readonly object _lock = new();
    private readonly Dictionary<int, ModelGuest?> _files = [];
    private readonly OpenFileInspector _descriptors = new();
    private int _nextDescriptor = FirstDescriptor;

    /// <param name="program">The guest: what runs on its CPU, usually <see cref="SimulatedLinux"/>.</param>
    /// <param name="eventFdLimit">How many eventfds one guest's table takes before ENOMEM.</param>
    public DevLguestModel(Action<ISimulatedHypervisor> program, int eventFdLimit = EventFdTable.DefaultLimit)
    {
        ArgumentNullException.ThrowIfNull(program);
        _program = program;
        _eventFdLimit = eventFdLimit;
    }

    /// <summary>The guests initialized on this device, for tests that look at the kernel's side (its eventfd table).</summary>
    internal IReadOnlyList<ModelGuest> Guests
    {
        get
        {
            lock (_lock)
            {
                return [.. _files.Values.OfType<ModelGuest>()];
            }
        }
    }

    /// <summary>The model is the device: every open of it succeeds and gets a fresh, uninitialized file.</summary>
    public int Open(string path)
    {
        lock (_lock)
        {
            int fd = _nextDescriptor++;
            _files[fd] = null;
            return fd;
        }
    }

    public long Write(int fd, ReadOnlySpan<byte> buffer)
    {
        if (!TryGetFile(fd, out ModelGuest? guest))
        {
            return -Errno.EBADF;
        }
        if (buffer.Length < Word)
        {
            return -Errno.EFAULT;
        }
        ulong request = ReadWord(buffer, 0);
        if (request != LguestAbi.LHREQ_INITIALIZE)
        {
            // The file position is the CPU, and the launcher's writes never move it: always CPU 0 here.
            if (guest is null)
            {
                return -Errno.EINVAL;
            }
            if (guest.IsDead)
            {
                return -Errno.ENOENT;
            }
        }
        return request switch
        {
            LguestAbi.LHREQ_INITIALIZE => Initialize(fd, guest, buffer),
            LguestAbi.LHREQ_IRQ => SendIrq(guest!, buffer),
            LguestAbi.LHREQ_EVENTFD => AttachEventFd(guest!, buffer, _descriptors),
            _ => -Errno.EINVAL,
        };
    }

    public long PRead(int fd, Span<byte> buffer, long offset)
    {
        if (!TryGetFile(fd, out ModelGuest? guest))
        {
            return -Errno.EBADF;
        }
        if (guest is null || offset != 0)
        {
            return -Errno.EINVAL;
        }
        if (CurrentTaskId != guest.Task)
        {
            return -Errno.EPERM;
        }
        if (guest.RebootRequested)
        {
            return -Errno.ERESTART;
        }
        if (guest.DeathReason is { } reason)
        {
            byte[] text = [.. System.Text.Encoding.UTF8.GetBytes(reason), 0];
            int length = Math.Min(buffer.Length, text.Length);
            text.AsSpan(0, length).CopyTo(buffer);
            return length;
        }
        long result = guest.Run(out ulong notify);
        if (result < 0)
        {
            return result;
        }
        if (buffer.Length < Word)
        {
            return -Errno.EFAULT; // put_user() of a whole word into a buffer too small for it
        }
        WriteWord(buffer, notify);
        return Word;
    }

    public int Close(int fd)
    {
        ModelGuest? guest;
        lock (_lock)
        {
            if (!_files.Remove(fd, out guest))
            {
                return -Errno.EBADF;
            }
        }
        guest?.Dispose();
        return 0;
    }

    public LguestTask CurrentTask() => new((nuint)CurrentTaskId);

    /// <summary>A signal to <paramref name="task"/>: every read it is in returns EINTR; outside a read it is spent.</summary>
    public void SignalTask(LguestTask task)
    {
        foreach (ModelGuest guest in Guests)
        {
            if ((nuint)guest.Task == task.Id)
            {
                guest.Signal();
            }
        }
    }

    /// <summary>Closes every file still open, as process exit would.</summary>
    public void Dispose()
    {
        int[] open;
        lock (_lock)
        {
            open = [.. _files.Keys];
        }
        foreach (int fd in open)
        {
            Close(fd);
        }
        _descriptors.Dispose();
    }

    /// <summary>The kernel's <c>current</c>: a managed thread is one OS thread for its whole life.</summary>
    private static int CurrentTaskId => Environment.CurrentManagedThreadId;

    private static ulong ReadWord(ReadOnlySpan<byte> buffer, int index)
        => Word == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(buffer[(index * Word)..]) : BinaryPrimitives.ReadUInt32LittleEndian(buffer[(index * Word)..]);

    private static void WriteWord(Span<byte> buffer, ulong value)
    {
        if (Word == 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)value);
        }
    }

    /// <summary>initialize(): guest base, page-frame limit, entry point; the caller becomes the guest's task.</summary>
    private long Initialize(int fd, ModelGuest? existing, ReadOnlySpan<byte> buffer)
    {
        if (existing is not null)
        {
            return -Errno.EBUSY;
        }
        if (buffer.Length < 4 * Word)
        {
            return -Errno.EFAULT;
        }
        ulong guestBase = ReadWord(buffer, 1);
        ulong pageLimit = ReadWord(buffer, 2);
        ulong entry = ReadWord(buffer, 3);
        if (guestBase == 0 || pageLimit == 0 || pageLimit > ulong.MaxValue / LguestAbi.PageSize)
        {
            return -Errno.EFAULT;
        }
        ulong limit = pageLimit * LguestAbi.PageSize;
        var memory = new GuestMemory([GuestMemoryRegion.Unowned(0, (nint)guestBase, limit)]);
        var guest = new ModelGuest(_program, memory, limit, entry, CurrentTaskId, _eventFdLimit);
        lock (_lock)
        {
            if (!_files.TryGetValue(fd, out ModelGuest? raced) || raced is not null)
            {
                guest.Dispose();
                return raced is null ? -Errno.EBADF : -Errno.EBUSY;
            }
            _files[fd] = guest;
        }
        return 3 * Word; // sizeof(args)
    }

    private static long SendIrq(ModelGuest guest, ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < 2 * Word)
        {
            return -Errno.EFAULT;
        }
        ulong irq = ReadWord(buffer, 1);
        if (irq >= LguestAbi.IrqLines)
        {
            return -Errno.EINVAL;
        }
        guest.RaiseInterrupt((uint)irq);
        return 0;
    }

    private static long AttachEventFd(ModelGuest guest, ReadOnlySpan<byte> buffer, OpenFileInspector descriptors)
    {
        if (buffer.Length < 3 * Word)
        {
            return -Errno.EFAULT;
        }
        ulong address = ReadWord(buffer, 1);
        ulong fd = ReadWord(buffer, 2);
        if (address == 0)
        {
            return -Errno.EINVAL;
        }
        if (guest.EventFds.Count >= guest.EventFds.Limit)
        {
            return -Errno.ENOMEM;
        }
        // eventfd_ctx_fdget(): EBADF for a descriptor that is not open, EINVAL for one that is not an eventfd.
        string? target = fd > int.MaxValue ? null : descriptors.Describe((int)fd);
        if (target is null)
        {
            return -Errno.EBADF;
        }
        if (target != "anon_inode:[eventfd]")
        {
            return -Errno.EINVAL;
        }
        using var borrowed = new FileDescriptor((int)fd, ownsHandle: false);
        return guest.EventFds.Add(address, borrowed);
    }

    private bool TryGetFile(int fd, out ModelGuest? guest)
    {
        lock (_lock)
        {
            return _files.TryGetValue(fd, out guest);
        }
    }
}
