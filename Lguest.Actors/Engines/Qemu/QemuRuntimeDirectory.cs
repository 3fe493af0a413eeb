using System.Globalization;
using System.Text.RegularExpressions;
using Lguest.Native.Interop;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The launcher's private directory for QEMU's sockets (devices, console, serial, QMP): mode 0700, so no other user
/// can connect to a device or the monitor in the window before QEMU does. One per launcher, emptied between boots,
/// removed when the guest stops for good.
/// </summary>
internal sealed partial class QemuRuntimeDirectory : IDisposable
{
    private QemuRuntimeDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>
    /// mkdtemp under the temp directory ($TMPDIR), which makes it 0700; the name says whose it is. What launchers
    /// killed with SIGKILL left there goes first (their QEMU died with them, but nothing removed their sockets).
    /// </summary>
    public static QemuRuntimeDirectory Create()
    {
        SweepStale(System.IO.Path.GetTempPath());
        DirectoryInfo directory = Directory.CreateTempSubdirectory(
            string.Create(CultureInfo.InvariantCulture, $"lguest-{Environment.ProcessId}-"));
        return new QemuRuntimeDirectory(directory.FullName);
    }

    /// <summary>
    /// Removes the runtime directories of launchers that are gone from <paramref name="root"/>: only names of our
    /// own pattern (lguest-PID-XXXXXX), only real directories owned by our effective uid, only when no process PID
    /// exists, and only when they hold nothing but files (a launcher's sockets). Anything else is left alone. A
    /// launcher in another pid namespace sharing this /tmp would look dead, hence the ownership check as well.
    /// </summary>
    /// <returns>The directories removed.</returns>
    internal static IReadOnlyList<string> SweepStale(string root)
    {
        if (!Directory.Exists("/proc/self"))
        {
            // Without /proc every launcher would look dead.
            return [];
        }
        var removed = new List<string>();
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(root, "lguest-*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return removed;
        }
        foreach (string candidate in candidates)
        {
            if (RuntimeDirectoryName().Match(System.IO.Path.GetFileName(candidate)) is not { Success: true } match
                || Directory.Exists($"/proc/{match.Groups[1].Value}")
                || FileOwner.Of(candidate) is not { IsDirectory: true } status
                || status.Owner != FileOwner.EffectiveUser)
            {
                continue;
            }
            if (TryRemoveStale(candidate))
            {
                removed.Add(candidate);
            }
        }
        return removed;
    }

    /// <summary>Its files, then the directory itself; a subdirectory means it is not what a launcher leaves, so it stays.</summary>
    private static bool TryRemoveStale(string directory)
    {
        try
        {
            if (Directory.EnumerateDirectories(directory).Any())
            {
                return false;
            }
            foreach (string file in Directory.EnumerateFiles(directory))
            {
                System.IO.File.Delete(file);
            }
            Directory.Delete(directory, recursive: false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another launcher sweeping at the same moment, or something we may not touch: not ours to fix.
            return false;
        }
    }

    [GeneratedRegex(@"^lguest-(\d+)-[A-Za-z0-9]{6}$")]
    private static partial Regex RuntimeDirectoryName();

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>What a previous boot may have left (a socket whose owner was killed): the next boot starts empty.</summary>
    public void Clear()
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(Path))
        {
            TryDelete(entry);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A listener removed its socket while we walked the directory: try once more.
            Clear();
            TryDeleteDirectory();
        }
    }

    private void TryDeleteDirectory()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void TryDelete(string entry)
    {
        try
        {
            System.IO.File.Delete(entry);
        }
        catch (IOException)
        {
        }
    }
}
