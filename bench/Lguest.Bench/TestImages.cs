namespace Lguest.Bench;

/// <summary>
/// Backing files in a temporary directory under /tmp: page cache, not a disk, so the numbers are the back ends'
/// own cost. The main image is pre-filled, and read once, so the first back end does not pay for cold pages.
/// </summary>
internal sealed class TestImages : IDisposable
{
    public const long MainBytes = 256L << 20;
    public const long SmallBytes = 64L << 20;

    public TestImages()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("lguest-bench-").FullName;
        Main = Path.Combine(Directory, "disk.img");
        byte[] chunk = new byte[1 << 20];
        new Random(7).NextBytes(chunk);
        using (var file = new FileStream(Main, FileMode.Create, FileAccess.Write))
        {
            for (long written = 0; written < MainBytes; written += chunk.Length)
            {
                file.Write(chunk);
            }
        }
        using (var file = new FileStream(Main, FileMode.Open, FileAccess.Read))
        {
            while (file.Read(chunk) > 0)
            {
            }
        }
    }

    public string Directory { get; }

    public string Main { get; }

    /// <summary><paramref name="count"/> sparse images, one per device: two exports of one file would fight over qemu's image locks.</summary>
    public IReadOnlyList<string> Sparse(int count)
    {
        var paths = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string path = Path.Combine(Directory, $"small-{i}.img");
            if (!File.Exists(path))
            {
                using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
                file.SetLength(SmallBytes);
            }
            paths.Add(path);
        }
        return paths;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
