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
    void CopyTo(int offset, scoped Span<byte> into);
}

/// <summary>
/// A frame in the sending guest's transmit chain, copied straight from its memory into each destination. Each copy
/// reads through its own copy of the reader (a cursor is a value), so a flood reads the chain once per port.
/// </summary>
internal readonly ref struct ChainFrame(ChainReader chain, int headerSize) : IFrameSource
{
    private readonly ChainReader _chain = chain;

    public int Length { get; } = chain.Remaining > int.MaxValue ? int.MaxValue : (int)chain.Remaining;

    public int HeaderSize => headerSize;

    public void CopyTo(int offset, scoped Span<byte> into)
    {
        ChainReader reader = _chain;
        reader.Consume((ulong)offset);
        reader.Read(into);
    }
}

/// <summary>A frame already in our own buffer (read from the uplink's tap).</summary>
internal readonly struct BufferFrame(byte[] buffer, int length, int headerSize) : IFrameSource
{
    public int Length => length;

    public int HeaderSize => headerSize;

    public void CopyTo(int offset, scoped Span<byte> into) => buffer.AsSpan(offset, into.Length).CopyTo(into);
}
