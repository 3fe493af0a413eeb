using System.Text;
using Akka.Configuration;

namespace Lguest.Actors.Configuration;

/// <summary>
/// The seed's command line, as getopt_long parsed it (options may come anywhere before "--", and "--opt VALUE"
/// works as well as "--opt=VALUE"), turned into lguest config. Devices keep argument order; the console (lguest.console) follows them all, as the
/// seed's setup_console() came after getopt.
/// </summary>
internal static class SeedArguments
{
    /// <summary>The key usage errors are reported under.</summary>
    public const string Key = "arguments";

    public const string Usage =
        "usage: lguest [--verbose] [--tunnet=(IPADDR[:MAC]|bridge:BRIDGE[:MAC])]... [--block=FILE]... [--rng]... "
        + "[--initrd=FILE] [--username=USER] [--chroot=DIR] MEM_MB vmlinux [kernel args...]";

    private const string BridgePrefix = "bridge:";

    private static readonly HashSet<string> Flags = ["verbose", "rng"];
    private static readonly HashSet<string> WithValue = ["tunnet", "block", "initrd", "username", "chroot"];

    /// <exception cref="ConfigurationException">A usage error, with key "arguments".</exception>
    public static Config ToConfig(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var lguest = new StringBuilder();
        var devices = new List<string>();
        var positional = new List<string>();

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                positional.AddRange(args.Skip(i + 1));
                break;
            }
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                int equals = arg.IndexOf('=', StringComparison.Ordinal);
                string name = equals < 0 ? arg[2..] : arg[2..equals];
                string? value = equals < 0 ? null : arg[(equals + 1)..];
                if (Flags.Contains(name))
                {
                    if (value is not null)
                    {
                        throw UsageError($"option '--{name}' doesn't allow an argument");
                    }
                }
                else if (WithValue.Contains(name))
                {
                    if (value is null)
                    {
                        value = ++i < args.Count ? args[i] : throw UsageError($"option '--{name}' requires an argument");
                    }
                }
                else
                {
                    throw UsageError($"unrecognized option '{arg}'");
                }
                Apply(name, value, lguest, devices);
            }
            else if (arg.Length > 1 && arg[0] == '-')
            {
                // Short options: the seed's getopt string was "v", so -v (or -vv) and nothing else.
                foreach (char c in arg.AsSpan(1))
                {
                    _ = c == 'v' ? lguest.AppendLine("verbose = on") : throw UsageError($"invalid option -- '{c}'");
                }
            }
            else
            {
                positional.Add(arg);
            }
        }

        if (positional.Count < 2)
        {
            throw UsageError(positional.Count == 0 ? "missing MEM_MB and vmlinux" : "missing vmlinux");
        }
        string megabytes = positional[0];
        if (megabytes.Length == 0 || !megabytes.All(char.IsAsciiDigit))
        {
            throw UsageError($"MEM_MB must be a whole number of megabytes, got '{megabytes}'");
        }
        lguest.AppendLine($"memory = {HoconText.Quote(megabytes + "M")}");
        lguest.AppendLine($"kernel = {HoconText.Quote(positional[1])}");
        lguest.AppendLine($"command-line = {HoconText.Quote(string.Join(' ', positional.Skip(2)))}");
        // One line: Akka's HOCON parser reads "[" and "]" on separate lines as a list holding one empty element.
        lguest.AppendLine($"devices = [ {string.Join(", ", devices)} ]");
        return ConfigurationFactory.ParseString($"lguest {{\n{lguest}}}\n");
    }

    private static void Apply(string name, string? value, StringBuilder lguest, List<string> devices)
    {
        switch (name)
        {
            case "verbose":
                lguest.AppendLine("verbose = on");
                break;
            case "rng":
                // The seed read /dev/random.
                devices.Add("{ type = rng, source = \"/dev/random\" }");
                break;
            case "block":
                devices.Add($"{{ type = block, path = {HoconText.Quote(value!)} }}");
                break;
            case "tunnet":
                devices.Add(NetDevice(value!));
                break;
            case "initrd":
                lguest.AppendLine($"initrd = {HoconText.Quote(value!)}");
                break;
            case "username":
                lguest.AppendLine($"user = {HoconText.Quote(value!)}");
                break;
            case "chroot":
                lguest.AppendLine($"chroot = {HoconText.Quote(value!)}");
                break;
        }
    }

    /// <summary>
    /// "IP[:MAC]" or "bridge:NAME[:MAC]". As in the seed, the MAC is everything after the first ':' that follows
    /// the bridge prefix; what precedes it is the address or bridge name.
    /// </summary>
    private static string NetDevice(string value)
    {
        bool bridging = value.StartsWith(BridgePrefix, StringComparison.Ordinal);
        string rest = bridging ? value[BridgePrefix.Length..] : value;
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        string mac = colon < 0 ? "" : rest[(colon + 1)..];
        if (colon >= 0 && mac.Length == 0)
        {
            // The seed's str2mac rejected an empty MAC; in config an empty mac means "none", so say so here.
            throw UsageError($"--tunnet={value}: empty MAC address after ':'");
        }
        string target = colon < 0 ? rest : rest[..colon];
        string where = bridging ? $"bridge = {HoconText.Quote(target)}" : $"address = {HoconText.Quote(target)}";
        return $"{{ type = net, {where}, mac = {HoconText.Quote(mac)} }}";
    }

    private static ConfigurationException UsageError(string problem) => new(Key, problem);
}
