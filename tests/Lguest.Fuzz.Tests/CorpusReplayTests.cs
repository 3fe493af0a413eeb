using Lguest.Fuzz.Targets;

namespace Lguest.Fuzz.Tests;

/// <summary>
/// Every committed seed (fuzz/corpus/TARGET) and every input that once crashed a target (fuzz/regressions/TARGET)
/// goes through its target on every test run, so CI exercises them without AFL.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (string target in FuzzTargets.Names)
        {
            foreach (string kind in new[] { "corpus", "regressions" })
            {
                foreach (string file in CorpusReplay.Inputs(Path.Combine(FuzzDirectory, kind, target)))
                {
                    data.Add(target, Path.GetRelativePath(FuzzDirectory, file));
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Input_keeps_the_targets_contract(string target, string input)
    {
        IFuzzTarget fuzzed = FuzzTargets.Create(target)!;
        using var owned = fuzzed as IDisposable;

        Exception? crash = CorpusReplay.Replay(fuzzed, Path.Combine(FuzzDirectory, input));

        Assert.True(crash is null, $"{input} crashed {target}: {crash}");
    }

    [Fact]
    public void Every_target_has_a_committed_seed_corpus()
    {
        foreach (string target in FuzzTargets.Names)
        {
            Assert.NotEmpty(CorpusReplay.Inputs(Path.Combine(FuzzDirectory, "corpus", target)));
        }
    }

    [Fact]
    public void The_committed_corpus_is_what_the_seed_builders_write()
    {
        foreach (IFuzzTarget target in FuzzTargets.All)
        {
            foreach ((string name, byte[] input) in target.Seeds())
            {
                Assert.Equal(input, File.ReadAllBytes(Path.Combine(FuzzDirectory, "corpus", target.Name, name)));
            }
        }
    }

    /// <summary>A seed that is refused at its first byte teaches AFL nothing about the paths behind it.</summary>
    [Fact]
    public void Every_seed_gets_past_the_first_check()
    {
        foreach (IFuzzTarget target in FuzzTargets.All)
        {
            using var owned = target as IDisposable;
            foreach ((string name, byte[] input) in target.Seeds())
            {
                target.Run(input);
                Assert.True(target.Progress > 0, $"{target.Name} seed {name} made no progress");
            }
        }
    }

    private static string FuzzDirectory { get; } = FindFuzzDirectory();

    private static string FindFuzzDirectory()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "fuzz", "corpus");
            if (Directory.Exists(candidate))
            {
                return Path.Combine(d.FullName, "fuzz");
            }
        }
        throw new DirectoryNotFoundException($"no fuzz/corpus above {AppContext.BaseDirectory}");
    }
}
