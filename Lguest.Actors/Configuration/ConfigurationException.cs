namespace Lguest.Actors.Configuration;

/// <summary>A configuration value that cannot be used; the message names the key (e.g. "lguest.memory").</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string key, string problem)
        : base($"{key}: {problem}")
    {
        Key = key;
        Problem = problem;
    }

    public string Key { get; }

    /// <summary>What is wrong with the key's value, without the key.</summary>
    public string Problem { get; }
}
