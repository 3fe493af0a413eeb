namespace Lguest.Native.Boot;

public enum KernelFormat
{
    /// <summary>A 32-bit x86 vmlinux (EM_386), the only kind the original lguest launcher loaded.</summary>
    Elf32,

    /// <summary>A 64-bit x86 vmlinux (EM_X86_64).</summary>
    Elf64,

    /// <summary>A self-decompressing bzImage.</summary>
    BzImage,
}
