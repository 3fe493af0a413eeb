using Lguest.Native.Tests.Boot;

namespace Lguest.Host.Tests;

/// <summary>The smallest kernel the loaders accept: one ELF32 segment at 1 MiB that halts. The simulated guest runs none of it.</summary>
internal static class TestKernel
{
    public static string Write(string directory)
    {
        string path = Path.Combine(directory, "vmlinux");
        var elf = new ElfImageBuilder(is64: false) { Entry = 0x100000 };
        elf.Segment(ElfImageBuilder.PtLoad, 0x100000, [0xF4, 0xEB, 0xFD], 0x2000); // hlt; jmp .-1
        File.WriteAllBytes(path, elf.Build());
        return path;
    }
}
