using System.Buffers.Binary;

namespace Lguest.Native.VhostUser;

/// <summary>A message's typed payload: knows its encoded size and how to write itself.</summary>
public abstract record VhostUserPayload
{
    public abstract int Size { get; }

    public abstract void Write(Span<byte> destination);

    /// <summary>Throws <see cref="VhostUserViolation.PayloadSizeMismatch"/> unless the payload is exactly <paramref name="expected"/> bytes.</summary>
    internal static void RequireSize(VhostUserRequest request, ReadOnlySpan<byte> payload, int expected)
    {
        if (payload.Length != expected)
        {
            throw new VhostUserProtocolException(VhostUserViolation.PayloadSizeMismatch, $"{request} payload is {payload.Length} bytes; it must be {expected}");
        }
    }
}

/// <summary>No payload (GET_FEATURES, SET_OWNER, ...).</summary>
public sealed record VhostUserEmpty : VhostUserPayload
{
    public static readonly VhostUserEmpty Instance = new();

    private VhostUserEmpty()
    {
    }

    public override int Size => 0;

    public override void Write(Span<byte> destination)
    {
    }
}

/// <summary>A u64: feature words, queue counts, REPLY_ACK statuses.</summary>
public sealed record VhostUserU64(ulong Value) : VhostUserPayload
{
    public override int Size => 8;

    public override void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt64LittleEndian(destination, Value);

    internal static VhostUserU64 Parse(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        RequireSize(request, payload, 8);
        return new VhostUserU64(BinaryPrimitives.ReadUInt64LittleEndian(payload));
    }
}
