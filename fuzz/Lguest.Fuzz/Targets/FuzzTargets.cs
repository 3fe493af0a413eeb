namespace Lguest.Fuzz.Targets;

/// <summary>Every target by the name run.sh and the replay test use.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<IFuzzTarget> All { get; } =
        [new VhostUserTarget(), new SplitRingTarget(), new BlockTarget(), new BootTarget()];

    public static IFuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
