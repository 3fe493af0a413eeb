using Linux = Tmds.Linux.LibC;

namespace Lguest.Native.Interop;

/// <summary>
/// io_uring's system calls that a signal may cut short, as <see cref="IInterruptibleCall"/> structs so
/// <see cref="SystemCall.Uninterrupted{TCall}"/> repeats them on EINTR without allocating. Tmds.LibC's bindings.
/// </summary>
internal static unsafe class IoUringCalls
{
    internal readonly struct Enter(int ring, uint toSubmit, uint minComplete, uint flags) : IInterruptibleCall
    {
        public long Invoke() => Linux.io_uring_enter(ring, toSubmit, minComplete, flags, null);
    }

    internal readonly struct Register(int ring, uint opcode, void* argument, uint count) : IInterruptibleCall
    {
        public long Invoke() => Linux.io_uring_register(ring, opcode, argument, count);
    }
}
