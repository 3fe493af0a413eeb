using Lguest.Fuzz;
using Lguest.Fuzz.Targets;
using SharpFuzz;

// Usage:
//   Lguest.Fuzz TARGET                     under afl-fuzz (run.sh): read inputs from AFL, a crash is any escaping exception
//   Lguest.Fuzz replay TARGET PATH...      run files or directories through TARGET without AFL; exit 1 on any crash
//   Lguest.Fuzz seed DIRECTORY             write each target's seed corpus to DIRECTORY/TARGET/
string names = string.Join(", ", FuzzTargets.Names);
if (args.Length == 2 && args[0] == "seed")
{
    foreach (IFuzzTarget target in FuzzTargets.All)
    {
        string directory = Path.Combine(args[1], target.Name);
        Directory.CreateDirectory(directory);
        foreach ((string name, byte[] input) in target.Seeds())
        {
            File.WriteAllBytes(Path.Combine(directory, name), input);
        }
    }
    return 0;
}
if (args.Length >= 3 && args[0] == "replay" && FuzzTargets.Create(args[1]) is { } replayed)
{
    int inputs = 0;
    int crashes = 0;
    foreach (string file in args.Skip(2).SelectMany(CorpusReplay.Inputs))
    {
        inputs++;
        if (CorpusReplay.Replay(replayed, file) is { } crash)
        {
            crashes++;
            Console.WriteLine($"CRASH {file}: {crash.GetType().Name}: {crash.Message}");
            Console.WriteLine(crash.StackTrace);
        }
    }
    Console.WriteLine($"{replayed.Name}: {inputs} inputs replayed, {crashes} crashes");
    return crashes == 0 ? 0 : 1;
}
if (args.Length == 1 && FuzzTargets.Names.Contains(args[0]))
{
    IFuzzTarget? fuzzed = null;
    // Out of process: a crash that kills the runtime (AccessViolation, stack overflow) is still reported to AFL.
    Fuzzer.OutOfProcess.Run(stream =>
    {
        fuzzed ??= FuzzTargets.Create(args[0])!;
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        fuzzed.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
    return 0;
}
Console.Error.WriteLine($"usage: Lguest.Fuzz TARGET | replay TARGET PATH... | seed DIRECTORY (targets: {names})");
return 2;
