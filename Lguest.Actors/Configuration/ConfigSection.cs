using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Lguest.Actors.Configuration;

/// <summary>
/// Typed reads from one HOCON object, every failure a <see cref="ConfigurationException"/> naming the full key.
/// Values are read as strings and parsed here, because Akka's own getters accept too much ("12Q" as a size
/// throws a bare FormatException, "maybe" as a boolean is an exception without the key).
/// </summary>
internal sealed class ConfigSection
{
    private readonly Config _config;

    public ConfigSection(Config config, string path)
    {
        _config = config;
        Path = path;
    }

    /// <summary>The full key of this section, e.g. "lguest" or "lguest.devices[2]".</summary>
    public string Path { get; }

    public string KeyOf(string key) => $"{Path}.{key}";

    public ConfigurationException Error(string key, string problem) => new(KeyOf(key), problem);

    public HoconValue? Value(string key) => _config.HasPath(key) ? _config.GetValue(key) : null;

    public string String(string key)
    {
        HoconValue value = Value(key) ?? throw Error(key, "missing");
        if (!value.IsString())
        {
            throw Error(key, value.IsArray() ? "expected a string, got a list" : "expected a string, got an object");
        }
        return value.GetString() ?? "";
    }

    /// <summary>An empty string means "not set".</summary>
    public string? OptionalString(string key)
    {
        string text = String(key);
        return text.Length == 0 ? null : text;
    }

    public bool Boolean(string key)
    {
        string text = String(key);
        return text.ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw Error(key, $"expected on or off, got '{text}'"),
        };
    }

    public int Integer(string key, int minimum)
    {
        string text = String(key);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int number))
        {
            throw Error(key, $"not an integer: {text}");
        }
        if (number < minimum)
        {
            throw Error(key, minimum == 1 ? $"must be greater than 0, got {number}" : $"must be at least {minimum}, got {number}");
        }
        return number;
    }

    /// <summary>A positive HOCON duration ("60s", "500ms").</summary>
    public TimeSpan Duration(string key)
    {
        string text = String(key);
        TimeSpan duration;
        try
        {
            duration = Value(key)!.GetTimeSpan(allowInfinite: false);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw Error(key, $"not a duration: {text}");
        }
        return duration > TimeSpan.Zero ? duration : throw Error(key, $"must be greater than 0, got {text}");
    }

    /// <summary>A path that must name an existing regular file (or device), not a directory.</summary>
    public string ExistingFile(string key, string text)
    {
        if (Directory.Exists(text))
        {
            throw Error(key, $"not a file: {text}");
        }
        return File.Exists(text) ? text : throw Error(key, $"file not found: {text}");
    }

    /// <summary>One of <paramref name="choices"/>, named in the error in the order given.</summary>
    public T Choice<T>(string key, IReadOnlyList<(string Name, T Value)> choices)
    {
        string text = String(key);
        foreach ((string name, T value) in choices)
        {
            if (name == text)
            {
                return value;
            }
        }
        string expected = choices.Count == 2
            ? $"{choices[0].Name} or {choices[1].Name}"
            : string.Join(", ", choices.Take(choices.Count - 1).Select(c => c.Name)) + " or " + choices[^1].Name;
        throw Error(key, $"expected {expected}, got '{text}'");
    }
}
