namespace Lguest.Actors.Tests.Devices;

/// <summary>A scratch file, deleted afterwards.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(byte[] contents)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"lguest-devices-{Guid.NewGuid():N}");
        File.WriteAllBytes(Path, contents);
    }

    public string Path { get; }

    /// <summary>Bytes whose value depends on their position, so a misplaced copy shows.</summary>
    public static byte[] Pattern(int length, int seed = 1)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + (i >> 9) + seed);
        }
        return bytes;
    }

    public byte[] ReadAll() => File.ReadAllBytes(Path);

    public void Dispose() => File.Delete(Path);
}
