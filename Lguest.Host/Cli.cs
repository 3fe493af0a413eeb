using System.CommandLine;
using Akka.Configuration;
using Lguest.Actors.Configuration;
using Lguest.Actors.Engines;
using Lguest.Actors.Launcher;
using Lguest.Actors.Supervision;
using Lguest.Actors.Transports.VhostUser;
using ConfigurationException = Lguest.Actors.Configuration.ConfigurationException;

namespace Lguest.Host;

/// <summary>
/// Two forms: "--config FILE [--verbose]", parsed by System.CommandLine, or the seed's own argument list,
/// accepted verbatim so existing lguest command lines keep working.
/// </summary>
internal static class Cli
{
    private const string ConfigUsage = "   or: lguest --config FILE [--verbose]   (FILE is HOCON; reference.conf lists every key)";

    public static CliOutcome Parse(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            return UsesOptions(args) ? ParseOptions(args, output, error) : Launch(SeedArguments.ToConfig(args));
        }
        catch (ConfigurationException e)
        {
            error.WriteLine($"lguest: {e.Message}");
            if (e.Key == SeedArguments.Key)
            {
                error.WriteLine(SeedArguments.Usage);
                error.WriteLine(ConfigUsage);
            }
            return new CliOutcome.Exit(LauncherExit.UsageError);
        }
    }

    /// <summary>
    /// The option form is recognised by --config (anywhere before "--") or a help request first; nothing in the
    /// seed's syntax uses either, so every seed command line still parses the old way.
    /// </summary>
    private static bool UsesOptions(string[] args)
    {
        if (args.Length > 0 && args[0] is "--help" or "-h" or "-?")
        {
            return true;
        }
        return args.TakeWhile(a => a != "--").Any(a => a == "--config" || a.StartsWith("--config=", StringComparison.Ordinal));
    }

    private static CliOutcome ParseOptions(string[] args, TextWriter output, TextWriter error)
    {
        var configOption = new Option<FileInfo>("--config")
        {
            Description = "The guest's HOCON configuration (see reference.conf for every key and its default).",
            HelpName = "FILE",
            Required = true,
        };
        var verboseOption = new Option<bool>("--verbose", "-v")
        {
            Description = "Log device set-up and guest events at debug level (same as lguest.verbose = on).",
        };
        var root = new RootCommand("lguest: run a guest with virtio devices. The seed's own arguments are accepted too.")
        {
            configOption,
            verboseOption,
        };

        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            throw new ConfigurationException(SeedArguments.Key, result.Errors[0].Message);
        }
        if (result.Action is not null)
        {
            // --help (or another built-in action): nothing to launch.
            return new CliOutcome.Exit(result.Invoke(new InvocationConfiguration { Output = output, Error = error }));
        }

        FileInfo file = result.GetRequiredValue(configOption);
        (Config config, string text) = HoconFile.Load(file);
        if (result.GetValue(verboseOption))
        {
            config = ConfigurationFactory.ParseString("lguest.verbose = on").WithFallback(config);
        }
        try
        {
            return Launch(config);
        }
        catch (ConfigurationException e) when (HoconFile.LineOf(text, e.Key) is { } line)
        {
            // The key names the setting; the line is where to fix it.
            throw new ConfigurationException(e.Key, $"{e.Problem} ({file}:{line})");
        }
    }

    /// <summary>
    /// The qemu engine's machine checks (binary, kernel, initramfs) are usage errors too, found before anything starts;
    /// so is a vhost-user socket that cannot be bound, and binding it here, before the actor system, lets a front end
    /// connect as soon as the launcher has read its config.
    /// </summary>
    private static CliOutcome.Launch Launch(Config config)
    {
        LauncherSettings settings = EnginePreflight.Check(LauncherSettingsReader.Read(config));
        return new(config, settings, ListeningSockets.Open(settings));
    }
}
