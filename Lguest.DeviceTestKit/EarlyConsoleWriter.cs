using System.Text;

namespace Lguest.DeviceTestKit;

/// <summary>
/// lguest's early console: before (or without) a virtio console, the kernel writes a NUL-terminated string into
/// its own memory and notifies its guest-physical address; the launcher prints it. The buffer is one page of the
/// kernel's heap, so longer messages go out a page at a time.
/// </summary>
public sealed class EarlyConsoleWriter
{
    private const int BufferSize = 4096;
    private readonly ISimulatedHypervisor _hv;
    private readonly ulong _buffer;

    public EarlyConsoleWriter(ISimulatedHypervisor hv, GuestPageAllocator heap)
    {
        ArgumentNullException.ThrowIfNull(hv);
        ArgumentNullException.ThrowIfNull(heap);
        _hv = hv;
        _buffer = heap.Allocate(BufferSize, BufferSize);
    }

    public void Print(string text)
    {
        ReadOnlySpan<byte> bytes = Encoding.UTF8.GetBytes(text);
        while (!bytes.IsEmpty)
        {
            // A NUL inside the text would end the launcher's read early: it cannot be printed this way.
            int nul = bytes.IndexOf((byte)0);
            ReadOnlySpan<byte> chunk = nul < 0 ? bytes : bytes[..nul];
            chunk = chunk[..Math.Min(chunk.Length, BufferSize - 1)];
            _hv.Memory.Write(_buffer, chunk);
            _hv.Memory.Write(_buffer + (ulong)chunk.Length, (byte)0);
            _hv.Notify(_buffer);
            bytes = bytes[(chunk.Length + (nul == chunk.Length ? 1 : 0))..];
        }
    }
}
