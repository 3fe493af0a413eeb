namespace Lguest.Native.Virtio;

/// <summary>One guest buffer of a descriptor chain, as read once from the ring and checked against guest memory.</summary>
public readonly record struct ChainBuffer(ulong Address, uint Length, bool Writable);
