using System.Diagnostics;
using Lguest.Actors.Engines.Qemu;

namespace Lguest.Actors.Tests.Engines.Qemu;

/// <summary>
/// A launcher killed with SIGKILL cannot remove its runtime directory; the next launcher sweeps such leftovers,
/// and nothing else, from the temp directory.
/// </summary>
public sealed class QemuRuntimeDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lguest-sweep-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_dead_launchers_directory_and_its_sockets_go_and_everything_else_stays()
    {
        int dead = PidOfAnExitedProcess();
        string stale = Make($"lguest-{dead}-Ab3dE9", "qmp.sock", "1-block.sock");
        string live = Make($"lguest-{Environment.ProcessId}-Zz9yX8", "qmp.sock");
        string otherName = Make($"lguest-{dead}-toolongsuffix", "qmp.sock");
        string notOurs = Make($"lguest-{dead}-Qw12Er", "keep");
        Directory.CreateDirectory(Path.Combine(notOurs, "nested"));
        string file = Path.Combine(_root, $"lguest-{dead}-Fi1e00");
        File.WriteAllText(file, "a file, not a directory");

        IReadOnlyList<string> removed = QemuRuntimeDirectory.SweepStale(_root);

        Assert.Equal([stale], removed);
        Assert.False(Directory.Exists(stale));
        Assert.True(File.Exists(Path.Combine(live, "qmp.sock")), "a live launcher's directory was touched");
        Assert.True(Directory.Exists(otherName));
        Assert.True(Directory.Exists(Path.Combine(notOurs, "nested")));
        Assert.True(File.Exists(file));
    }

    [Fact]
    public void A_dead_launchers_directory_owned_by_another_user_stays()
    {
        if (Native.Interop.FileOwner.EffectiveUser != 0)
        {
            // Only root can give a directory away; as anyone else no other user's directory can be made here.
            return;
        }
        string stale = Make($"lguest-{PidOfAnExitedProcess()}-Nb0dy1", "qmp.sock");
        Run("chown", "65534", stale);

        Assert.Empty(QemuRuntimeDirectory.SweepStale(_root));
        Assert.True(Directory.Exists(stale));
    }

    private string Make(string name, params string[] files)
    {
        string directory = Directory.CreateDirectory(Path.Combine(_root, name)).FullName;
        foreach (string f in files)
        {
            File.WriteAllText(Path.Combine(directory, f), "");
        }
        return directory;
    }

    /// <summary>A pid that no process has now: one of our own children, reaped (reuse within the test is unlikely).</summary>
    private static int PidOfAnExitedProcess()
    {
        using Process process = Run("true");
        Assert.False(Directory.Exists($"/proc/{process.Id}"));
        return process.Id;
    }

    private static Process Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        Process process = Process.Start(start)!;
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return process;
    }
}
