using System.Globalization;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// The launcher's private directory for QEMU's sockets (devices, console, serial, QMP): mode 0700, so no other user
/// can connect to a device or the monitor in the window before QEMU does. One per launcher, emptied between boots,
/// removed when the guest stops for good.
/// </summary>
internal sealed class QemuRuntimeDirectory : IDisposable
{
    private QemuRuntimeDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>mkdtemp under the temp directory ($TMPDIR), which makes it 0700; the name says whose it is.</summary>
    public static QemuRuntimeDirectory Create()
    {
        DirectoryInfo directory = Directory.CreateTempSubdirectory(
            string.Create(CultureInfo.InvariantCulture, $"lguest-{Environment.ProcessId}-"));
        return new QemuRuntimeDirectory(directory.FullName);
    }

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
