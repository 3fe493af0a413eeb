using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Host;

/// <summary>
/// Reads the --config file; an unreadable or malformed file is a config error like any bad key, and names the
/// line to fix.
/// </summary>
internal static partial class HoconFile
{
    public const string Key = "--config";

    public static (Config Config, string Text) Load(FileInfo file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file.FullName);
        }
        catch (FileNotFoundException)
        {
            throw new ConfigurationException(Key, $"file not found: {file}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(Key, $"cannot read {file}: {e.Message}");
        }

        // Akka's parser would accept some of these (a file missing its last closing brace boots), so ours runs first.
        if (HoconText.FindSyntaxError(text) is { } syntax)
        {
            throw new ConfigurationException(Key, $"{file}:{syntax.Line}: {syntax.Problem}");
        }
        try
        {
            return (ConfigurationFactory.ParseString(text), text);
        }
        catch (Exception e) when (e is FormatException or Akka.Configuration.ConfigurationException or InvalidOperationException)
        {
            // Akka's parser reports a character position over several lines; the first line, and the position as a line number.
            string first = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? e.GetType().Name;
            Match position = PositionPattern().Match(first);
            string where = position.Success && int.TryParse(position.Groups[1].Value, CultureInfo.InvariantCulture, out int offset)
                ? $"{file}:{LineAt(text, offset)}"
                : file.ToString();
            throw new ConfigurationException(Key, $"{where}: not valid HOCON: {first.TrimEnd(':')}");
        }
    }

    /// <summary>
    /// The line that sets <paramref name="key"/> ("lguest.memory", "lguest.devices[1].path"), when the file names its
    /// last part exactly once as a key; null when it is absent (a default) or ambiguous.
    /// </summary>
    public static int? LineOf(string text, string key)
    {
        string last = key[(key.LastIndexOf('.') + 1)..];
        int bracket = last.IndexOf('[', StringComparison.Ordinal);
        last = bracket >= 0 ? last[..bracket] : last;
        if (last.Length == 0)
        {
            return null;
        }
        var setting = new Regex($@"(^|[\s{{,.])""?{Regex.Escape(last)}""?\s*(=|:|\{{|\+=)", RegexOptions.Multiline);
        MatchCollection matches = setting.Matches(text);
        return matches.Count == 1 ? LineAt(text, matches[0].Index + matches[0].Groups[1].Length) : null;
    }

    private static int LineAt(string text, int offset) =>
        text.AsSpan(0, Math.Clamp(offset, 0, text.Length)).Count('\n') + 1;

    [GeneratedRegex(@"position (\d+)")]
    private static partial Regex PositionPattern();
}
