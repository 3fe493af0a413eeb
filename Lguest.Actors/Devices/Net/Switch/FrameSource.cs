using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Actors.Devices.Net.Switch;

/// <summary>A frame entering the switch, wherever it is (a guest's chain, a tap's buffer): header first, then Ethernet.</summary>
internal interface IFrameSource
{
    /// <summary>Header and frame bytes.</summary>
    int Length { get; }

    /// <summary>The virtio-net header's size: the Ethernet frame starts here.</summary>
    int HeaderSize { get; }

    /// <summary>Copies bytes from <paramref name="offset"/> to fill <paramref name="into"/>.</summary>
    void CopyTo(int offset, Span<byte> into);
}

/// <summary>A frame in the sending guest's transmit chain, copied straight from its memory into each destination.</summary>
internal readonly struct ChainFrame(GuestMemory memory, DescriptorChain chain, int headerSize) : IFrameSource
{
    public int Length { get; } = chain.ReadableBytes > int.MaxValue ? int.MaxValue : (int)chain.ReadableBytes;

    public int HeaderSize => headerSize;

    public void CopyTo(int offset, Span<byte> into) => chain.CopyFromReadable(memory, (ulong)offset, into);
}

/// <summary>A frame already in our own buffer (read from the uplink's tap).</summary>
internal readonly struct BufferFrame(byte[] buffer, int length, int headerSize) : IFrameSource
{
    public int Length => length;

    public int HeaderSize => headerSize;

    public void CopyTo(int offset, Span<byte> into) => buffer.AsSpan(offset, into.Length).CopyTo(into);
}
