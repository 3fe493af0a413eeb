using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Lguest.Actors.Configuration;

/// <summary>Reads lguest.devices: one object per device, in bus order, each with a type and that type's keys.</summary>
internal static class DeviceSettingsReader
{
    /// <summary>More queues than vCPUs is useless, and each queue costs a thread.</summary>
    private const int MaxBlockQueues = 64;

    private static readonly string[] BlockKeys = ["type", "path", "read-only", "size", "socket", "num-queues", "poll-max-ns", "io-uring"];
    private static readonly string[] RngKeys = ["type", "source", "max-bytes-per-request", "socket"];
    private static readonly string[] NetKeys = ["type", "address", "prefix-length", "guest-address", "bridge", "mac", "tap", "socket", "switch", "vhost-user-socket"];

    /// <summary>A switch port's host end is the switch: the keys that describe a tap of its own make no sense on it.</summary>
    private static readonly string[] TapOnlyKeys = ["address", "prefix-length", "guest-address", "bridge", "tap", "vhost-user-socket"];

    /// <param name="lguest">The merged lguest section (user config over reference.conf).</param>
    public static List<DeviceSettings> Read(Config lguest, string path)
    {
        string listKey = $"{path}.devices";
        HoconValue list = lguest.GetValue("devices");
        // Akka's HoconValue says IsArray() is false for "[]", so reject what is clearly not a list instead.
        if (list.IsString() || (list.IsObject() && !list.IsArray()))
        {
            throw new ConfigurationException(listKey, "expected a list of device objects, e.g. [ { type = rng } ]");
        }
        var devices = new List<DeviceSettings>();
        // Akka's parser turns "[ ]" or a list spread over lines into an extra element with no value: not a device.
        List<HoconValue> elements = list.GetArray().Where(element => element.Values.Count > 0).ToList();
        for (int i = 0; i < elements.Count; i++)
        {
            devices.Add(ReadOne(elements[i], lguest, $"{listKey}[{i}]"));
        }
        return devices;
    }

    private static DeviceSettings ReadOne(HoconValue element, Config lguest, string path)
    {
        if (!element.IsObject() || element.IsArray())
        {
            throw new ConfigurationException(path, "expected a device object, e.g. { type = block, path = \"disk.img\" }");
        }
        HoconObject fields = element.GetObject();
        var own = new ConfigSection(new Config(new HoconRoot(element)), path);
        if (!fields.Items.ContainsKey("type"))
        {
            throw own.Error("type", "missing: every device needs a type (block, rng or net)");
        }
        string type = own.String("type");
        (string[] known, string what) = type switch
        {
            "block" => (BlockKeys, "a block device"),
            "rng" => (RngKeys, "an rng device"),
            "net" => (NetKeys, "a net device"),
            _ => throw own.Error("type", $"unknown device type '{type}' (expected block, rng or net)"),
        };
        KeySchema.RejectUnknownKeys(fields, known, path, what);

        // Keys the entry leaves out come from lguest.device-defaults.<type>: HOCON has no fallback inside lists.
        var section = new ConfigSection(
            new Config(new HoconRoot(element)).WithFallback(lguest.GetConfig($"device-defaults.{type}")), path);
        DeviceSettings device = type switch
        {
            "block" => ReadBlock(section),
            "rng" => ReadRng(section),
            _ when fields.Items.ContainsKey("switch") => ReadSwitchPort(section, fields),
            _ => ReadNet(section),
        };
        return device with { Socket = section.OptionalString("socket") };
    }

    private static BlockSettings ReadBlock(ConfigSection device)
    {
        string path = device.OptionalString("path") ?? throw device.Error("path", "missing: a block device needs the path of its backing file");
        bool readOnly = device.Boolean("read-only");
        long? size = DiskSize(device);
        if (size is null || readOnly || Directory.Exists(path) || File.Exists(path))
        {
            // Only a writable disk with a size is created when missing; anything else must already be there.
            device.ExistingFile("path", path);
        }
        else if (!Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(path))))
        {
            throw device.Error("path", $"cannot create {path}: its directory does not exist");
        }
        int queues = device.Integer("num-queues", minimum: 1);
        if (queues > MaxBlockQueues)
        {
            throw device.Error("num-queues", $"must be at most {MaxBlockQueues}, got {queues}");
        }
        return new BlockSettings(path, readOnly)
        {
            Size = size,
            NumQueues = queues,
            PollMax = TimeSpan.FromMicroseconds(device.Integer("poll-max-ns", minimum: 0) / 1000.0),
            IoUring = device.Boolean("io-uring"),
        };
    }

    /// <summary>The size a missing disk is created with: whole sectors, since a guest sees nothing else.</summary>
    private static long? DiskSize(ConfigSection device)
    {
        string? text = device.OptionalString("size");
        if (text is null)
        {
            return null;
        }
        ulong bytes = MemorySize.Parse(text) ?? throw device.Error("size", $"not a size: {text} (e.g. 64M, 2G)");
        if (bytes == 0 || bytes % 512 != 0 || bytes > long.MaxValue)
        {
            throw device.Error("size", $"must be a positive whole number of 512-byte sectors, got {text}");
        }
        return (long)bytes;
    }

    private static RngSettings ReadRng(ConfigSection device)
    {
        string source = device.OptionalString("source") ?? throw device.Error("source", "must not be empty");
        return new RngSettings(device.ExistingFile("source", source), device.Integer("max-bytes-per-request", minimum: 1));
    }

    private static NetSettings ReadNet(ConfigSection device)
    {
        if (device.OptionalString("vhost-user-socket") is { } external)
        {
            return ReadExternalNet(device, external);
        }
        string? address = device.OptionalString("address");
        string? bridge = device.OptionalString("bridge");
        if ((address is null) == (bridge is null))
        {
            throw new ConfigurationException(device.Path,
                "a net device needs exactly one of address (routed, host-side IPv4 address) and bridge (a bridge name)");
        }
        if (address is not null && !NetworkAddresses.IsIPv4(address))
        {
            throw device.Error("address", $"not an IPv4 address: {address}");
        }
        int prefixLength = device.Integer("prefix-length", minimum: 1);
        if (prefixLength > NetworkAddresses.MaxPrefixLength)
        {
            throw device.Error("prefix-length", $"must be at most {NetworkAddresses.MaxPrefixLength} (room for the host and a guest), got {prefixLength}");
        }
        string? guestAddress = GuestAddress(device, address, prefixLength);
        if (bridge is not null && !NetworkAddresses.IsInterfaceName(bridge))
        {
            throw device.Error("bridge", $"not an interface name (1 to {NetworkAddresses.MaxInterfaceName} characters, no '/', ':' or spaces): {bridge}");
        }
        string? mac = device.OptionalString("mac");
        if (mac is not null && !NetworkAddresses.IsMac(mac))
        {
            throw device.Error("mac", $"not a MAC address (aa:bb:cc:dd:ee:ff): {mac}");
        }
        string tap = device.String("tap");
        if (!NetworkAddresses.IsInterfaceName(tap))
        {
            throw device.Error("tap", $"not an interface name (1 to {NetworkAddresses.MaxInterfaceName} characters, no '/', ':' or spaces): {tap}");
        }
        return new NetSettings(address, bridge, mac, tap) { PrefixLength = prefixLength, GuestAddress = guestAddress };
    }

    private static SwitchPortSettings ReadSwitchPort(ConfigSection device, HoconObject fields)
    {
        if (TapOnlyKeys.FirstOrDefault(fields.Items.ContainsKey) is { } tapKey)
        {
            throw device.Error(tapKey, "not allowed with switch: the port's host end is the switch (give the switch an uplink to reach the host)");
        }
        string name = device.OptionalString("switch") ?? throw device.Error("switch", "must not be empty");
        string? mac = device.OptionalString("mac");
        if (mac is not null && !NetworkAddresses.IsMac(mac))
        {
            throw device.Error("mac", $"not a MAC address (aa:bb:cc:dd:ee:ff): {mac}");
        }
        return new SwitchPortSettings(name, mac);
    }

    /// <summary>
    /// A net device whose back end is someone else's (a switch port): no tap, so neither address nor bridge. The
    /// guest's own address, when given, is what /init puts on eth0; the segment behind the socket decides the rest.
    /// Whether the socket is there is the qemu engine's check, at start-up (the switch may start after this is read).
    /// </summary>
    private static NetSettings ReadExternalNet(ConfigSection device, string socket)
    {
        foreach (string tapOnly in (string[])["address", "bridge"])
        {
            if (device.OptionalString(tapOnly) is not null)
            {
                throw device.Error(tapOnly,
                    "must be empty with vhost-user-socket: the back end behind the socket owns the network, not a tap of ours");
            }
        }
        int prefixLength = device.Integer("prefix-length", minimum: 1);
        if (prefixLength > NetworkAddresses.MaxPrefixLength)
        {
            throw device.Error("prefix-length", $"must be at most {NetworkAddresses.MaxPrefixLength}, got {prefixLength}");
        }
        string? guestAddress = device.OptionalString("guest-address");
        if (guestAddress is not null)
        {
            if (!NetworkAddresses.IsIPv4(guestAddress))
            {
                throw device.Error("guest-address", $"not an IPv4 address: {guestAddress}");
            }
            uint guest = NetworkAddresses.ToNumber(guestAddress);
            if (NetworkAddresses.HostProblem(guest, prefixLength) is { } problem)
            {
                throw device.Error("guest-address",
                    $"{guestAddress} is {problem} {NetworkAddresses.Subnet(guest, prefixLength)} (see prefix-length), not a host in it");
            }
        }
        string? mac = device.OptionalString("mac");
        if (mac is not null && !NetworkAddresses.IsMac(mac))
        {
            throw device.Error("mac", $"not a MAC address (aa:bb:cc:dd:ee:ff): {mac}");
        }
        return new NetSettings(null, null, mac, device.String("tap"))
        {
            PrefixLength = prefixLength,
            GuestAddress = guestAddress,
            VhostUserSocket = socket,
        };
    }

    /// <summary>
    /// The guest's end of a routed tap: given, or the host's address + 1, and either way a host in the tap's
    /// subnet other than the tap itself. Bridged, the subnet is the bridge's affair: any given address is taken.
    /// </summary>
    private static string? GuestAddress(ConfigSection device, string? hostAddress, int prefixLength)
    {
        string? given = device.OptionalString("guest-address");
        if (given is not null && !NetworkAddresses.IsIPv4(given))
        {
            throw device.Error("guest-address", $"not an IPv4 address: {given}");
        }
        if (hostAddress is null)
        {
            return given;
        }
        uint host = NetworkAddresses.ToNumber(hostAddress);
        string subnet = NetworkAddresses.Subnet(host, prefixLength);
        if (NetworkAddresses.HostProblem(host, prefixLength) is { } hostProblem)
        {
            throw device.Error("address", $"{hostAddress} is {hostProblem} {subnet} (see prefix-length), not a host in it");
        }
        if (given is null)
        {
            uint next = host + 1;
            if (NetworkAddresses.HostProblem(next, prefixLength) is not null)
            {
                throw device.Error("guest-address",
                    $"missing, and the default (address + 1 = {NetworkAddresses.FromNumber(next)}) is not a host in {subnet}; set guest-address");
            }
            return NetworkAddresses.FromNumber(next);
        }
        uint guest = NetworkAddresses.ToNumber(given);
        if ((guest & NetworkAddresses.Netmask(prefixLength)) != (host & NetworkAddresses.Netmask(prefixLength)))
        {
            throw device.Error("guest-address", $"{given} is not in the tap's subnet {subnet} (address {hostAddress}, prefix-length {prefixLength})");
        }
        if (NetworkAddresses.HostProblem(guest, prefixLength) is { } guestProblem)
        {
            throw device.Error("guest-address", $"{given} is {guestProblem} {subnet}, not a host in it");
        }
        return guest != host ? given : throw device.Error("guest-address", $"{given} is the tap's own address");
    }
}
