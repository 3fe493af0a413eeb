using Akka.Configuration;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Host;

/// <summary>Reads the --config file; an unreadable or malformed file is a config error like any bad key.</summary>
internal static class HoconFile
{
    public const string Key = "--config";

    public static Config Load(FileInfo file)
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

        try
        {
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception e) when (e is FormatException or Akka.Configuration.ConfigurationException or InvalidOperationException)
        {
            // Akka's parser reports the position over several lines; the first is enough to find the mistake.
            string first = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? e.GetType().Name;
            throw new ConfigurationException(Key, $"{file}: not valid HOCON: {first}");
        }
    }
}
