using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Lguest.Actors.Configuration;

/// <summary>
/// Rejects keys inside lguest { } that reference.conf does not define, so a typo ("memroy = 1G") fails loudly
/// instead of silently leaving the default in place. reference.conf is the schema: there is no second list to
/// keep in step with it.
/// </summary>
internal static class KeySchema
{
    /// <summary>Lists are checked element by element by whoever reads them (devices know their own keys).</summary>
    public static void RejectUnknownKeys(Config supplied, Config reference, string section)
    {
        if (supplied.IsEmpty || !supplied.HasPath(section))
        {
            return;
        }
        HoconValue value = supplied.GetValue(section);
        if (!value.IsObject())
        {
            throw new ConfigurationException(section, "expected an object");
        }
        Check(value.GetObject(), reference.GetValue(section).GetObject(), section);
    }

    /// <summary>Fails on the first key of <paramref name="element"/> (a list element) not in <paramref name="known"/>.</summary>
    public static void RejectUnknownKeys(HoconObject element, IReadOnlyCollection<string> known, string path, string what)
    {
        foreach (string key in element.Items.Keys)
        {
            if (!known.Contains(key))
            {
                throw new ConfigurationException($"{path}.{key}", $"unknown key for {what} (expected {string.Join(", ", known)})");
            }
        }
    }

    private static void Check(HoconObject supplied, HoconObject reference, string path)
    {
        foreach ((string key, HoconValue value) in supplied.Items)
        {
            string full = $"{path}.{key}";
            if (!reference.Items.TryGetValue(key, out HoconValue? expected))
            {
                throw new ConfigurationException(full, "unknown key (reference.conf lists every key)");
            }
            if (expected.IsObject() && !expected.IsArray())
            {
                if (!value.IsObject())
                {
                    throw new ConfigurationException(full, "expected an object");
                }
                Check(value.GetObject(), expected.GetObject(), full);
            }
        }
    }
}
