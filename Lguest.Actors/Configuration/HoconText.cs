using System.Globalization;
using System.Text;

namespace Lguest.Actors.Configuration;

/// <summary>Writes values into generated HOCON text, so any path or argument survives the round trip intact.</summary>
internal static class HoconText
{
    /// <summary>A double-quoted HOCON (JSON) string literal.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                < ' ' => text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }
        return text.Append('"').ToString();
    }
}
