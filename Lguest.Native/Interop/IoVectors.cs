namespace Lguest.Native.Interop;

/// <summary>
/// Bookkeeping over iovec arrays. writev may take only part of what it is offered, so whoever must get every byte
/// out walks the array forward by what went and tries again with the rest.
/// </summary>
public static class IoVectors
{
    /// <summary>Bytes described by all of <paramref name="vectors"/>.</summary>
    public static ulong TotalLength(ReadOnlySpan<IoVector> vectors)
    {
        ulong total = 0;
        foreach (IoVector v in vectors)
        {
            total = checked(total + v.Length);
        }
        return total;
    }

    /// <summary>
    /// Takes <paramref name="bytes"/> from the front of <paramref name="vectors"/>, in place: spent vectors are left
    /// empty and a part-spent one is advanced. Returns the rest, starting at the first vector that still has bytes,
    /// so it can be handed straight back to writev. Asking for more than there is means the caller's count is wrong,
    /// which we refuse rather than quietly clamp.
    /// </summary>
    public static Span<IoVector> Consume(Span<IoVector> vectors, ulong bytes)
    {
        int i = 0;
        while (i < vectors.Length)
        {
            ref IoVector v = ref vectors[i];
            ulong used = Math.Min((ulong)v.Length, bytes);
            v.Base += (nint)used;
            v.Length -= (nuint)used;
            bytes -= used;
            if (v.Length != 0)
            {
                break;
            }
            i++;
        }
        if (bytes != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"{bytes} bytes more than the iovecs hold");
        }
        return vectors[i..];
    }
}
