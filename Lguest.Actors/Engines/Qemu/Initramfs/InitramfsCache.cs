namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// Puts a built file into the cache so that a reader never sees half of it: it is written under a name no other
/// launcher uses, flushed to disk, then renamed over the final name (rename(2) is atomic within a directory).
/// Two launchers building at once both succeed; the second rename replaces the first's identical file.
/// </summary>
internal static class InitramfsCache
{
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InitramfsErrors.CannotBuild($"cannot create the cache directory {directory}: {e.Message}");
        }
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(output);
                output.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InitramfsErrors.CannotBuild($"cannot write {path}: {e.Message}");
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
