using System.Globalization;

namespace Lguest.Actors.Configuration;

/// <summary>Sizes as the config writes them: a whole number with an optional binary K, M or G suffix.</summary>
internal static class MemorySize
{
    public const ulong MiB = 1UL << 20;

    /// <summary>The size in bytes, or null when <paramref name="text"/> is not a size (or does not fit 64 bits).</summary>
    public static ulong? Parse(string text)
    {
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }
        int shift = char.ToUpperInvariant(trimmed[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        string digits = (shift == 0 ? trimmed : trimmed[..^1]).TrimEnd();
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number))
        {
            return null;
        }
        return number > ulong.MaxValue >> shift ? null : number << shift;
    }
}
