using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Lguest.Actors.Configuration;

/// <summary>
/// Reads lguest.switches (one object per segment) and checks the devices that attach to them: every name unique
/// and well-formed, every port's switch configured, and ports only where a front end can reach them.
/// </summary>
internal static class SwitchSettingsReader
{
    /// <summary>Beyond this a table costs more memory than any segment of guests could use.</summary>
    private const int MaxTableSize = 1 << 20;

    /// <summary>Each queued frame may hold up to 64 KiB (GSO): 4096 of them is already 256 MiB per port at worst.</summary>
    private const int MaxPortQueue = 4096;

    private static readonly string[] SwitchKeys = ["name", "mac-table-size", "ageing-time", "port-queue", "uplink"];
    private static readonly string[] UplinkKeys = ["tap", "address", "prefix-length", "bridge"];

    /// <param name="lguest">The merged lguest section (user config over reference.conf).</param>
    public static List<SwitchSettings> Read(Config lguest, string path)
    {
        string listKey = $"{path}.switches";
        HoconValue list = lguest.GetValue("switches");
        if (list.IsString() || (list.IsObject() && !list.IsArray()))
        {
            throw new ConfigurationException(listKey, "expected a list of switch objects, e.g. [ { name = lan0 } ]");
        }
        var switches = new List<SwitchSettings>();
        List<HoconValue> elements = list.GetArray().Where(element => element.Values.Count > 0).ToList();
        for (int i = 0; i < elements.Count; i++)
        {
            string key = $"{listKey}[{i}]";
            SwitchSettings one = ReadOne(elements[i], lguest, key);
            if (switches.Any(s => s.Name == one.Name))
            {
                throw new ConfigurationException($"{key}.name", $"switch '{one.Name}' is already defined");
            }
            switches.Add(one);
        }
        return switches;
    }

    /// <summary>
    /// Every port names a switch that exists, and only engine vhost-user serves ports (its front ends are the guests
    /// the segment joins); a switch no device attaches to is allowed (an uplink alone is a valid, if idle, segment).
    /// </summary>
    public static void CheckPorts(IReadOnlyList<DeviceSettings> devices, IReadOnlyList<SwitchSettings> switches, EngineKind engine, string path)
    {
        for (int i = 0; i < devices.Count; i++)
        {
            if (devices[i] is not SwitchPortSettings port)
            {
                continue;
            }
            string key = $"{path}.devices[{i}].switch";
            if (switches.All(s => s.Name != port.Switch))
            {
                string known = switches.Count == 0 ? "none is configured in lguest.switches" : "lguest.switches has " + string.Join(", ", switches.Select(s => s.Name));
                throw new ConfigurationException(key, $"no switch named '{port.Switch}' ({known})");
            }
            if (engine != EngineKind.VhostUser)
            {
                throw new ConfigurationException(key, "a switch port needs engine = vhost-user (each port is a front end's socket)");
            }
        }
    }

    private static SwitchSettings ReadOne(HoconValue element, Config lguest, string path)
    {
        if (!element.IsObject() || element.IsArray())
        {
            throw new ConfigurationException(path, "expected a switch object, e.g. { name = lan0 }");
        }
        HoconObject fields = element.GetObject();
        KeySchema.RejectUnknownKeys(fields, SwitchKeys, path, "a switch");
        var section = new ConfigSection(new Config(new HoconRoot(element)).WithFallback(lguest.GetConfig("switch-defaults")), path);
        if (!fields.Items.ContainsKey("name"))
        {
            throw section.Error("name", "missing: every switch needs a name, which its devices give as their switch key");
        }
        string name = section.String("name");
        if (!NetworkAddresses.IsInterfaceName(name))
        {
            throw section.Error("name", $"not a usable name (1 to {NetworkAddresses.MaxInterfaceName} characters, no '/', ':' or spaces): '{name}'");
        }
        int tableSize = section.Integer("mac-table-size", minimum: 1);
        if (tableSize > MaxTableSize)
        {
            throw section.Error("mac-table-size", $"must be at most {MaxTableSize}, got {tableSize}");
        }
        int queue = section.Integer("port-queue", minimum: 1);
        if (queue > MaxPortQueue)
        {
            throw section.Error("port-queue", $"must be at most {MaxPortQueue}, got {queue}");
        }
        return new SwitchSettings(name, tableSize, section.Duration("ageing-time"), queue)
        {
            Uplink = fields.Items.TryGetValue("uplink", out HoconValue? uplink) ? ReadUplink(uplink, lguest, $"{path}.uplink") : null,
        };
    }

    private static UplinkSettings ReadUplink(HoconValue element, Config lguest, string path)
    {
        if (!element.IsObject() || element.IsArray())
        {
            throw new ConfigurationException(path, "expected an object, e.g. { address = \"10.0.3.1\" } or { bridge = br0 }");
        }
        KeySchema.RejectUnknownKeys(element.GetObject(), UplinkKeys, path, "a switch uplink");
        var section = new ConfigSection(new Config(new HoconRoot(element)).WithFallback(lguest.GetConfig("switch-defaults.uplink")), path);
        string? address = section.OptionalString("address");
        string? bridge = section.OptionalString("bridge");
        if ((address is null) == (bridge is null))
        {
            throw new ConfigurationException(path, "an uplink needs exactly one of address (routed, the host's IPv4 address on the tap) and bridge (an existing bridge)");
        }
        int prefixLength = section.Integer("prefix-length", minimum: 1);
        if (prefixLength > NetworkAddresses.MaxPrefixLength)
        {
            throw section.Error("prefix-length", $"must be at most {NetworkAddresses.MaxPrefixLength}, got {prefixLength}");
        }
        if (address is not null)
        {
            if (!NetworkAddresses.IsIPv4(address))
            {
                throw section.Error("address", $"not an IPv4 address: {address}");
            }
            uint host = NetworkAddresses.ToNumber(address);
            if (NetworkAddresses.HostProblem(host, prefixLength) is { } problem)
            {
                throw section.Error("address", $"{address} is {problem} {NetworkAddresses.Subnet(host, prefixLength)} (see prefix-length), not a host in it");
            }
        }
        if (bridge is not null && !NetworkAddresses.IsInterfaceName(bridge))
        {
            throw section.Error("bridge", $"not an interface name (1 to {NetworkAddresses.MaxInterfaceName} characters, no '/', ':' or spaces): {bridge}");
        }
        string tap = section.String("tap");
        if (!NetworkAddresses.IsInterfaceName(tap))
        {
            throw section.Error("tap", $"not an interface name (1 to {NetworkAddresses.MaxInterfaceName} characters, no '/', ':' or spaces): {tap}");
        }
        return new UplinkSettings(tap, address, prefixLength, bridge);
    }
}
