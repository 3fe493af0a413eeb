using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

/// <summary>A scratch file opened read-write, deleted with the test.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(int size = 0)
    {
        Path = System.IO.Path.GetTempFileName();
        if (size > 0)
        {
            File.WriteAllBytes(Path, new byte[size]);
        }
        Descriptor = FileDescriptor.Open(Path, LibC.O_RDWR);
    }

    public string Path { get; }

    public FileDescriptor Descriptor { get; }

    public void Dispose()
    {
        Descriptor.Dispose();
        File.Delete(Path);
    }
}
