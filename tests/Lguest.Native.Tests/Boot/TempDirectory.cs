namespace Lguest.Native.Tests.Boot;

/// <summary>A scratch directory for the kernels and initrds a test builds, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lguest-boot-").FullName;

    public string Write(string name, byte[] contents)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(path, contents);
        return path;
    }

    /// <summary>A file of <paramref name="length"/> zero bytes that costs no disk: for the "too large" cases.</summary>
    public string Sparse(string name, long length)
    {
        string path = System.IO.Path.Combine(Path, name);
        using FileStream stream = File.Create(path);
        stream.SetLength(length);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
