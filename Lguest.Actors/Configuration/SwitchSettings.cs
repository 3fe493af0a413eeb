namespace Lguest.Actors.Configuration;

/// <summary>
/// One virtual Ethernet segment (lguest.switches): the net devices that name it are its ports, and an optional
/// uplink joins the segment to the host.
/// </summary>
/// <param name="Name">What devices name in their <c>switch</c> key, and the tag on the switch's metrics.</param>
/// <param name="MacTableSize">The most addresses learned at once; beyond it new addresses are flooded, not learned.</param>
/// <param name="AgeingTime">An address not heard from for this long is forgotten (frames to it flood again).</param>
/// <param name="PortQueue">Frames queued for one port before frames to it are dropped: what a stalled guest may cost.</param>
public sealed record SwitchSettings(string Name, int MacTableSize, TimeSpan AgeingTime, int PortQueue)
{
    /// <summary>The host's end of the segment, or null: a switch without one needs no privileges.</summary>
    public UplinkSettings? Uplink { get; init; }
}

/// <summary>
/// A tap on the host as one more switch port: routed (the tap gets <paramref name="Address"/>) or bridged (the tap
/// joins <paramref name="Bridge"/>); exactly one is set.
/// </summary>
public sealed record UplinkSettings(string TapName, string? Address, int PrefixLength, string? Bridge);

/// <summary>A net device that is a port of a configured switch instead of a tap of its own.</summary>
/// <param name="Switch">The switch's name (lguest.switches[].name).</param>
/// <param name="Mac">The MAC offered to the guest, "aa:bb:cc:dd:ee:ff"; null lets the guest pick one.</param>
public sealed record SwitchPortSettings(string Switch, string? Mac) : DeviceSettings;
