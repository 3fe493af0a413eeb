namespace Lguest.Native.Boot;

/// <summary>
/// A boot image the launcher refuses to load. The message always starts with the file, because the person reading
/// it typed several paths on one command line and needs to know which one to fix.
/// </summary>
public sealed class BootImageException : Exception
{
    internal BootImageException(BootImageError error, string path, string problem)
        : base($"{path}: {problem}")
    {
        Error = error;
        Path = path;
    }

    public BootImageError Error { get; }

    /// <summary>The kernel or initrd the problem is about (for a command line, the kernel it was meant for).</summary>
    public string Path { get; }
}
