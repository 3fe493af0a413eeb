namespace Lguest.Fuzz.Targets;

/// <summary>
/// Every target by the name run.sh and the replay test use. Targets are created on demand: under AFL, instrumented
/// code (a target's constructor included) may only run once SharpFuzz has attached the coverage map.
/// </summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<string> Names { get; } = ["vhost-user", "ring", "block", "boot"];

    public static IEnumerable<IFuzzTarget> All => Names.Select(name => Create(name)!);

    public static IFuzzTarget? Create(string name) => name switch
    {
        "vhost-user" => new VhostUserTarget(),
        "ring" => new SplitRingTarget(),
        "block" => new BlockTarget(),
        "boot" => new BootTarget(),
        _ => null,
    };
}
