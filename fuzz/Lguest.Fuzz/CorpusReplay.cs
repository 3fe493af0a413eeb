using Lguest.Fuzz.Targets;

namespace Lguest.Fuzz;

/// <summary>Runs saved inputs through a target without AFL: the corpus and crash files as a plain regression run.</summary>
internal static class CorpusReplay
{
    /// <summary>Every file under <paramref name="path"/> (or the file itself), skipping AFL's bookkeeping files.</summary>
    public static IEnumerable<string> Inputs(string path)
        => File.Exists(path) ? [path]
            : Directory.Exists(path)
                ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => !Path.GetFileName(f).StartsWith('.') && Path.GetFileName(f) != "README.txt").Order(StringComparer.Ordinal)
                : [];

    /// <summary>The crash an input causes, or null when the target keeps its contract.</summary>
    public static Exception? Replay(IFuzzTarget target, string file)
    {
        ArgumentNullException.ThrowIfNull(target);
        byte[] input = File.ReadAllBytes(file);
        try
        {
            target.Run(input);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
